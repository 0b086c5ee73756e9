"""Sample answers from a causal LM and score them, each prompt encoded once for all its answers.

The direct trainer (``recipe.corpo.cpu_tasks.learn.direct``) and its evaluation sample n answers per prompt:
the prompts (left-padded, positions counted from the first real token, as ``transformers``'
``generate`` counts them) go through the model once, their key/value cache is repeated n times,
and the answers are decoded token by token at temperature T with top-p (nucleus) sampling from a
seeded ``torch.Generator``. ``answer_log_probs`` recomputes the answers' token log-probabilities
the same way, with gradients, for the policy loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Encoded:
    """Left-padded prompts: ``ids`` and ``mask`` (P, L)."""

    ids: torch.Tensor
    mask: torch.Tensor


def prompt_text(tokenizer, messages) -> str:
    """The text a chat model is given for ``messages``: its chat template, with the assistant's turn opened."""
    return tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)


def encode_prompts(tokenizer, texts: list[str]) -> Encoded:
    """Token ids of the prompt texts, left-padded with the tokenizer's pad token."""
    rows = [tokenizer(text, add_special_tokens=False).input_ids for text in texts]
    width = max(len(row) for row in rows)
    ids = torch.full((len(rows), width), tokenizer.pad_token_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, width - len(row):] = torch.tensor(row)
        mask[i, width - len(row):] = 1
    return Encoded(ids, mask)


def _prefill(model, prompts: Encoded, n: int):
    """Logits of the first answer token, the cache and the last prompt position, each repeated n times."""
    positions = (prompts.mask.cumsum(-1) - 1).clamp_min(0)
    out = model(input_ids=prompts.ids, attention_mask=prompts.mask, position_ids=positions, use_cache=True)
    cache = out.past_key_values
    cache.batch_repeat_interleave(n)
    return out.logits[:, -1].repeat_interleave(n, 0), cache, positions[:, -1].repeat_interleave(n, 0)


def _draw(logits: torch.Tensor, temperature: float, top_p: float, generator: torch.Generator) -> torch.Tensor:
    """One token per row: softmax(logits / T), restricted to the smallest set of tokens whose
    probability reaches ``top_p`` (the most likely token always kept)."""
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    if top_p < 1.0:
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        before = sorted_probs.cumsum(-1) - sorted_probs  # mass of the more likely tokens
        sorted_probs = sorted_probs.masked_fill(before >= top_p, 0.0)
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


@torch.no_grad()
def sample(model, prompts: Encoded, n: int, max_new_tokens: int, temperature: float, top_p: float,
           generator: torch.Generator, eos_id: int, pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n answers per prompt (rows prompt-major: prompt 0's n answers first): (answers, answer mask),
    both (P * n, T); an answer ends with its end-of-sequence token (in the mask) or at ``max_new_tokens``."""
    logits, cache, position = _prefill(model, prompts, n)
    mask = prompts.mask.repeat_interleave(n, 0)
    done = torch.zeros(logits.shape[0], dtype=torch.bool)
    tokens, kept = [], []
    for step in range(max_new_tokens):
        token = torch.where(done, torch.full_like(done, pad_id, dtype=torch.long), _draw(logits, temperature, top_p, generator))
        tokens.append(token)
        kept.append(~done)
        done = done | (token == eos_id)
        if bool(done.all()) or step == max_new_tokens - 1:
            break
        mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=-1)
        position = position + 1
        out = model(input_ids=token[:, None], attention_mask=mask, position_ids=position[:, None],
                    past_key_values=cache, use_cache=True)
        logits = out.logits[:, -1]
    return torch.stack(tokens, 1), torch.stack(kept, 1).long()


def answer_log_probs(model, prompts: Encoded, answers: torch.Tensor, n: int) -> torch.Tensor:
    """(P * n, T) log-probability of each answer token given the prompt and the answer before it
    (temperature 1), with gradients; answers as ``sample`` returns them."""
    first, cache, position = _prefill(model, prompts, n)
    mask = torch.cat([prompts.mask.repeat_interleave(n, 0), torch.ones_like(answers)], dim=-1)
    positions = position[:, None] + 1 + torch.arange(answers.shape[1])[None]
    out = model(input_ids=answers, attention_mask=mask, position_ids=positions, past_key_values=cache)
    logits = torch.cat([first[:, None], out.logits[:, :-1]], dim=1).float()
    return torch.log_softmax(logits, dim=-1).gather(-1, answers[..., None]).squeeze(-1)
