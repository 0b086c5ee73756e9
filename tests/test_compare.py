"""The output comparison rules (data_prep.formats.judge_rules), as properties: integers exact however
large (as strings on Codeforces, as values on code_contests), whitespace never matters, a tolerance only
for real numbers, yes/no and "any case" words."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data_prep.formats.judge_rules import CODE_CONTESTS, CODEFORCES, OutputRule, outputs_match, tokens_match

RULES = [CODEFORCES, CODE_CONTESTS, OutputRule(case="any"), OutputRule(case="exact"), OutputRule(integers="value")]
STRING_RULES = [rule for rule in RULES if rule.integers == "string"]
VALUE_RULES = [rule for rule in RULES if rule.integers == "value"]
rules = st.sampled_from(RULES)
big_integers = st.integers(-10**60, 10**60) | st.sampled_from([998244352, 998244353, 10**9 + 7, 2**63, 10**18])
words = st.text("abcdefghXYZ", min_size=1, max_size=6)
tokens = st.lists(big_integers.map(str) | words, max_size=12)
spaces = st.text(" \t\n\r", min_size=1, max_size=3)


@given(big_integers, st.sampled_from([-1, 1]), rules)
def test_an_integer_off_by_one_never_matches(n, step, rule):
    assert not tokens_match(str(n + step), str(n), rule)
    assert not outputs_match(f"1 {n + step}\n", f"1 {n}\n", rule)


def _other_writings(n: int) -> list[str]:
    """``n`` written with a sign, leading zeros, ``-0`` or as a real: the same value, another string."""
    digits = str(abs(n))
    writings = [("+" if n >= 0 else "-") + digits.rjust(len(digits) + 2, "0"), "0" + str(n) if n >= 0 else "-0" + digits]
    if n >= 0:
        writings.append("+" + digits)
    if n == 0:
        writings.append("-0")
    return writings


@given(big_integers, rules)
def test_an_integer_matches_itself(n, rule):
    assert tokens_match(str(n), str(n), rule)


@given(big_integers, st.sampled_from(VALUE_RULES))
def test_where_the_judge_reads_values_an_integer_matches_however_written(n, rule):
    for writing in _other_writings(n):
        assert tokens_match(writing, str(n), rule), writing


@given(big_integers, st.sampled_from(STRING_RULES))
def test_where_the_judge_reads_strings_an_integer_matches_only_as_written(n, rule):
    """testlib (Codeforces): readLong rejects '+', leading zeros and '-0'; wcmp compares strings."""
    for writing in _other_writings(n) + [f"{n}.0", f"{n}e0"]:
        assert not tokens_match(writing, str(n), rule), writing
        assert not outputs_match(f"1 {writing}\n", f"1 {n}\n", rule)


@given(tokens, st.data(), rules)
def test_whitespace_never_matters(words_, data, rule):
    got = "".join(w + data.draw(spaces) for w in words_)
    assert outputs_match(got, " ".join(words_) + "\n", rule)


@given(tokens.filter(bool), st.data(), rules)
def test_a_changed_or_missing_token_does_not_match(words_, data, rule):
    i = data.draw(st.integers(0, len(words_) - 1))
    changed = words_[:i] + [words_[i] + "7"] + words_[i + 1:]
    assert not outputs_match(" ".join(changed), " ".join(words_), rule)
    assert not outputs_match(" ".join(words_ + ["1"]), " ".join(words_), rule)
    assert not outputs_match(" ".join(words_[:-1]), " ".join(words_), rule)


@given(st.floats(-1e9, 1e9, allow_nan=False), st.floats(-0.4, 0.4), rules)
@settings(max_examples=200)
def test_real_numbers_within_the_tolerance_match(x, fraction, rule):
    allowed = max(rule.abs_tol, rule.rel_tol * abs(x))
    assert tokens_match(repr(x + fraction * allowed), repr(x), rule)


@given(st.floats(-1e9, 1e9, allow_nan=False), st.floats(3, 1000), st.sampled_from([-1, 1]), rules)
@settings(max_examples=200)
def test_real_numbers_beyond_the_tolerance_do_not_match(x, factor, sign, rule):
    allowed = max(rule.abs_tol, rule.rel_tol * abs(x))
    assert not tokens_match(repr(x + sign * factor * allowed), repr(x), rule)


@given(st.sampled_from(["yes", "no"]), st.data())
def test_yes_and_no_match_in_any_case(word, data):
    variant = "".join(c.upper() if data.draw(st.booleans()) else c for c in word)
    for rule in (CODEFORCES, CODE_CONTESTS):
        assert tokens_match(variant, word.upper(), rule)
    assert not tokens_match(variant, "yes" if word == "no" else "no", CODEFORCES)


@given(words.filter(lambda w: w.lower() not in ("yes", "no") and w.lower() != w.upper()), st.data())
def test_other_words_ignore_case_only_when_the_rule_says_so(word, data):
    flipped = word.swapcase()
    assert not tokens_match(flipped, word, CODEFORCES)
    assert not tokens_match(flipped, word, OutputRule(case="exact"))
    assert tokens_match(flipped, word, OutputRule(case="any")) and tokens_match(flipped, word, CODE_CONTESTS)


@pytest.mark.parametrize("got, expected, matches", [
    ("998244352", "998244353", False),  # the cases, under the old relative tolerance they matched
    ("1000000000001", "1000000000000", False),
    ("3", "3.0000000001", True),  # an integer answering a real: the tolerance applies
    ("100000", "1e5", True),
    ("1e5", "100000", False), ("3.0", "3", False),  # a real never answers an integer on Codeforces
    ("100000.5", "100000", False),  # relative error 5e-6 is above 1e-6
    ("0110", "110", False), ("+5", "5", False), ("-0", "0", False), ("05", "5", False),  # testlib's readLong
    ("+0.5", "0.5", True), ("00.5", "0.5", True), ("5e-1", "0.5", True),  # testlib's readDouble takes these
    ("inf", "inf", True), ("inf", "INF", False), ("nan", "nan", True),
    ("1_000", "1000", False), ("0x10", "16", False), ("five", "5", False),
])
def test_examples(got, expected, matches):
    assert tokens_match(got, expected, CODEFORCES) is matches


@given(big_integers.filter(lambda n: abs(n) < 10**15))
def test_a_real_answers_an_integer_only_where_the_judge_reads_doubles(n):
    assert not tokens_match(f"{n}.0", str(n), CODEFORCES)
    assert tokens_match(f"{n}.0", str(n), CODE_CONTESTS)  # tester_sandboxer.cc ValuesMatch


def test_code_contests_tolerance_is_absolute():
    assert tokens_match("1000000.000009", "1000000", CODE_CONTESTS)
    assert not tokens_match("1000000.00002", "1000000", CODE_CONTESTS)
    assert tokens_match("1000000.0005", "1000000.0", CODEFORCES)  # relative 5e-10


def test_rule_validation():
    assert OutputRule.from_dict(None) == CODEFORCES
    assert OutputRule.from_dict(CODE_CONTESTS.to_dict()) == CODE_CONTESTS
    with pytest.raises(ValueError, match="unknown keys"):
        OutputRule.from_dict({"tolerance": 1e-6})
    with pytest.raises(ValueError, match="case must be one of"):
        OutputRule(case="lower")
    with pytest.raises(ValueError, match="integers must be one of"):
        OutputRule(integers="int64")
    with pytest.raises(ValueError, match="reals_match_integers needs integers='value'"):
        OutputRule(reals_match_integers=True)


@pytest.mark.parametrize("got", ["0110", "+110", "110.0"])
def test_code_contests_reads_integers_as_values(got):
    """tester_sandboxer.cc parses numbers: leading zeros, '+' and a real of the same value are accepted."""
    assert tokens_match(got, "110", CODE_CONTESTS) and not tokens_match(got, "110", CODEFORCES)
    assert tokens_match("-0", "0", CODE_CONTESTS) and not tokens_match("-0", "0", CODEFORCES)
