"""Reward of the pairwise code verifier (spec section 3). Placeholder: being written."""

#: Every CORRECT trajectory scores >= R_MIN_CORRECT and every failure < R_MIN_CORRECT.
#: The recipe's ``algorithm.corpo.r_min_correct`` defaults to this value.
R_MIN_CORRECT = 0.0
