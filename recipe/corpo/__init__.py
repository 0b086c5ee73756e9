"""The CoRPO recipe for verl 0.9.1 (``pip install 'verl-corpo[recipe]'``); under another verl release
importing it stops with one line saying what to do (``recipe.corpo.verl_guard``)."""

from recipe.corpo.verl_guard import require_recipe_verl

require_recipe_verl()
