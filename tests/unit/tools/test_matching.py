"""edit_file matching: each layer finds the text models quote with drift; nothing doubtful."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from agentls.tools.matching import Match, NoMatch, find_edit

FILE = (
    "import os\n\n\n"
    "class Store:\n"
    "    def save(self, item):\n"
    "        if item is None:\n"
    '            raise ValueError("no item")\n'
    "        self.items.append(item)\n"
    "        return item\n\n"
    "    def load(self, key):\n"
    "        return self.items[key]\n"
)


def apply(text: str, result: list[Match] | NoMatch) -> str:
    assert isinstance(result, list), result
    for m in sorted(result, key=lambda m: m.start, reverse=True):
        text = text[: m.start] + m.new_text + text[m.end :]
    return text


def test_exact_unique_match_and_replace_all() -> None:
    out = apply(FILE, find_edit(FILE, "return item\n", "return [item]\n"))
    assert "return [item]" in out and out.count("return") == 2
    twice = find_edit(FILE, "self.items", "self.things")
    assert isinstance(twice, NoMatch) and "2 times" in twice.message and "line 8" in twice.message
    assert (
        apply(FILE, find_edit(FILE, "self.items", "self.things", replace_all=True)).count(
            "self.things"
        )
        == 2
    )


def test_whitespace_tabs_trailing_blanks_and_curly_quotes() -> None:
    quoted = "\tif item is None:   \n\t\traise ValueError(“no item”)\n"
    result = find_edit(FILE, quoted, '        if not item:\n            raise ValueError("empty")')
    assert isinstance(result, list) and result[0].how in ("whitespace", "indentation")
    out = apply(FILE, result)
    assert '        if not item:\n            raise ValueError("empty")\n        self.items' in out


def test_indentation_drift_is_carried_over_to_the_new_text() -> None:
    quoted = "def load(self, key):\n    return self.items[key]"
    new = "def load(self, key, default=None):\n    return self.items.get(key, default)"
    result = find_edit(FILE, quoted, new)
    assert isinstance(result, list) and result[0].how == "indentation"
    assert apply(FILE, result).endswith(
        "    def load(self, key, default=None):\n        return self.items.get(key, default)\n"
    )


def test_a_missing_blank_line_and_an_elided_middle() -> None:
    quoted = "        return item\n    def load(self, key):"  # the blank line between is gone
    assert isinstance(
        find_edit(FILE, quoted, "        return item\n\n    def get(self, key):"), list
    )
    elided = "    def save(self, item):\n        ...\n        return item"
    result = find_edit(FILE, elided, "    def save(self, item):\n        return None")
    assert isinstance(result, list) and result[0].how == "elision"
    assert "append" not in apply(FILE, result)
    lossy = find_edit(FILE, elided, "    def save(self, item):\n        ...\n        return 1")
    assert isinstance(lossy, NoMatch) and "elides" in lossy.message


def test_fuzzy_takes_a_clear_best_and_refuses_a_tie() -> None:
    typo = (
        "        if item is None:\n"
        '            raise ValueErorr("no item")\n'
        "        self.items.append(item)"
    )
    result = find_edit(FILE, typo, "        pass")
    assert isinstance(result, list) and result[0].how == "fuzzy"
    twins = FILE + "\n\nclass Other:\n    def load(self, key):\n        return self.items[key]\n"
    tie = find_edit(twins, "def load(self, key):\n    return self.items[key]", "x")
    assert isinstance(tie, NoMatch) and "2 places" in tie.message


def test_a_miss_shows_the_closest_real_lines() -> None:
    miss = find_edit(FILE, "def remove(self, key):\n    del self.things[key]", "pass")
    assert isinstance(miss, NoMatch)
    assert "closest lines" in miss.message and "def load(self, key):" in miss.message


UNIQUE = [f"    value_{i} = compute({i}, 'x{i}')" for i in range(40)]


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 35),
    st.integers(1, 5),
    st.sampled_from(["", "    ", "\t", "  "]),
    st.sampled_from(["", "  ", "\t"]),
)
def test_drifted_quotes_apply_at_the_right_place_only(
    first: int, size: int, indent_drift: str, trailing: str
) -> None:
    text = "def f():\n" + "\n".join(UNIQUE) + "\n"
    block = UNIQUE[first : first + size]
    quoted = "\n".join(indent_drift + line.strip() + trailing for line in block)
    result = find_edit(text, quoted, "    changed()")
    assert isinstance(result, list) and len(result) == 1, result
    m = result[0]
    if quoted in text:  # no drift at all: the exact text
        start, end = text.index(quoted), text.index(quoted) + len(quoted)
    else:  # whole lines
        start, end = text.index(block[0]), text.index(block[-1]) + len(block[-1])
    assert (m.start, m.end) == (start, end)


def test_other_indentation_is_never_pasted_as_is() -> None:
    # Quoted with two-space indentation in a four-space file: matched ignoring the
    # indentation, and the new text is shifted to the file's.
    quoted = "  def load(self, key):\n    return self.items[key]"
    result = find_edit(FILE, quoted, "  def load(self, key):\n    return None")
    assert isinstance(result, list) and result[0].how == "indentation"
    assert apply(FILE, result).endswith("    def load(self, key):\n        return None\n")


def test_tabs_for_the_files_own_indentation_match_as_whitespace() -> None:
    tabbed = FILE.replace("        ", "\t\t").replace("    ", "\t")
    quoted = "        if item is None:\n            raise ValueError(“no item”)"
    result = find_edit(tabbed, quoted.replace("        ", "\t\t", 1), "\t\tpass")
    assert isinstance(result, list) and result[0].how == "whitespace"


def test_lines_the_model_did_not_change_stay_as_the_file_has_them() -> None:
    text = "def f():\n    x = 'a'   \n\n    y = 2\n    return x\n"
    # The model's quote and its new text both drop the blank line, add curly quotes and use
    # a tab: only the changed line is new, in the file's style.
    quoted = "def f():\n\tx = ‘a’\n\ty = 2"
    new = "def f():\n\tx = ‘a’\n\ty = 3  "
    out = apply(text, find_edit(text, quoted, new))
    assert out == "def f():\n    x = 'a'   \n\n    y = 3\n    return x\n"


def test_an_elision_with_a_common_head_needs_a_unique_tail() -> None:
    text = (
        'def a():\n    """\n    Doc a.\n    """\n    return 1\n\n\n'
        'def b():\n    """\n    Doc b.\n    """\n    return 2\n'
    )
    quoted = '    """\n    ...\n    return 2'
    result = find_edit(text, quoted, '    """\n    Doc b.\n    """\n    return 3')
    assert isinstance(result, NoMatch)  # which of the four '"""' lines starts it? not a guess
    unique_tail = find_edit(text, "    Doc b.\n    ...\n    return 2", "    Doc b.\n    return 3")
    assert isinstance(unique_tail, list) and unique_tail[0].how == "elision"
    assert apply(text, unique_tail).endswith('    """\n    Doc b.\n    return 3\n')


REPEATED = "value = compute(1)\n"


def test_a_near_miss_over_repeated_lines_asks_for_an_exact_quote() -> None:
    """Every window looks alike: the fuzzy layer compares at most FUZZY_WINDOWS of them
    and, since the others could match as well, refuses instead of guessing."""
    quote = REPEATED * 50 + "value = compute(2)\n"
    miss = find_edit(REPEATED * 5000, quote, "value = 3\n")
    assert isinstance(miss, NoMatch)
    assert "too many places look alike" in miss.message
    assert "Quote the text exactly" in miss.message


def test_a_typo_in_a_big_file_is_still_matched_loosely() -> None:
    lines = [f"    value_{i} = compute({i}, 'x{i}')" for i in range(5000)]
    text = "\n".join(lines) + "\n"
    quote = "\n".join(lines[3000:3030]).replace("value_3010 ", "valeu_3010 ")
    result = find_edit(text, quote, "    pass")
    assert isinstance(result, list) and result[0].how == "fuzzy"
    assert result[0].start == text.index(lines[3000])
    lines[4000] = "    raise ValueError('the configuration file is missing')"
    text = "\n".join(lines) + "\n"
    quote = "raise ValueErorr('the configuration file is missing')"
    short = find_edit(text, quote, "    pass")
    assert isinstance(short, list) and short[0].start == text.index(lines[4000])


def test_past_the_deadline_nothing_is_guessed() -> None:
    typo = (
        "        if item is None:\n"
        '            raise ValueErorr("no item")\n'
        "        self.items.append(item)"
    )
    late = find_edit(FILE, typo, "        pass", seconds=0.0)
    assert isinstance(late, NoMatch) and "too many places look alike" in late.message


def test_a_quote_too_long_to_match_loosely_is_refused_with_the_reason() -> None:
    quote = "".join(f"line_{i} = {i}\n" for i in range(250))
    text = quote.replace("line_7 = 7", "line_7 = 8")
    miss = find_edit(text, quote, "x = 1\n")
    assert isinstance(miss, NoMatch) and "at most 200 lines" in miss.message
