"""edit_file keeps the file's own indentation style, and a doubtful match says what matched
where (distinct places, each with an excerpt)."""

from __future__ import annotations

from agentls.tools.matching import Match, NoMatch, find_edit

TABBED = (
    "class Store:\n"
    "\tdef save(self, item):\n"
    "\t\tif item is None:\n"
    '\t\t\traise ValueError("no item")\n'
    "\t\tself.items.append(item)\n"
    "\t\treturn item\n"
)


def apply(text: str, result: list[Match] | NoMatch) -> str:
    assert isinstance(result, list), result
    for m in sorted(result, key=lambda m: m.start, reverse=True):
        text = text[: m.start] + m.new_text + text[m.end :]
    return text


def test_a_match_ignoring_whitespace_writes_tabs_into_a_tab_indented_file() -> None:
    old = "        self.items.append(item)\n        return item"  # the model's spaces
    new = "        if item in self.items:\n            return item\n" + old
    found = find_edit(TABBED, old, new)
    assert isinstance(found, list) and found[0].how == "whitespace"
    out = apply(TABBED, found)
    assert "\t\tif item in self.items:\n\t\t\treturn item\n\t\tself.items.append" in out
    assert not any(line.startswith(" ") for line in out.split("\n"))
    compile(out, "store.py", "exec")  # TabError before: spaces among tabs


def test_a_match_ignoring_indentation_writes_tabs_too() -> None:
    old = 'if item is None:\n    raise ValueError("no item")'  # flush left
    new = 'if item is None:\n    raise KeyError("no item")\nself.count += 1'
    out = apply(TABBED, find_edit(TABBED, old, new))
    assert '\t\tif item is None:\n\t\t\traise KeyError("no item")\n\t\tself.count += 1\n' in out
    compile(out, "store.py", "exec")


def test_a_tabbed_new_text_stays_tabbed_and_a_spaced_file_keeps_spaces() -> None:
    old = "\t\tself.items.append(item)  \n"  # a trailing blank: matched ignoring whitespace
    new = "\t\tself.items.append(item)\n\t\tself.count += 1\n"
    out = apply(TABBED, find_edit(TABBED, old, new))
    assert "\t\tself.items.append(item)\n\t\tself.count += 1\n\t\treturn item" in out
    spaced = TABBED.replace("\t", "    ")
    out = apply(spaced, find_edit(spaced, "\t\treturn item", "\t\treturn [item]"))
    assert "        return [item]" in out and "\t" not in out


def test_an_elided_quote_that_fits_two_places_names_each_with_its_lines() -> None:
    text = "def f():\n    a = 1\n    return a\n\ndef g():\n    return a\n"
    miss = find_edit(text, "def f():\n...\n    return a", "def f():\n    return 2")
    assert isinstance(miss, NoMatch)
    assert "2 places" in miss.message
    assert "lines 1-3 (`def f():` … `return a`)" in miss.message
    assert "lines 1-6 (`def f():` … `return a`)" in miss.message
    assert "line 1, line 1" not in miss.message


def test_repeated_text_on_one_line_is_told_apart_by_column() -> None:
    miss = find_edit("total = total + step\n", "total", "sum")
    assert isinstance(miss, NoMatch)
    assert "line 1 column 1 (`total = total + step`)" in miss.message
    assert "line 1 column 9" in miss.message


def test_lines_matched_twice_ignoring_whitespace_show_what_is_there() -> None:
    text = "if a:\n    go()\nif b:\n    go()\n"
    miss = find_edit(text, "go()  ", "stop()")
    assert isinstance(miss, NoMatch)
    assert "line 2 (`go()`); line 4 (`go()`)" in miss.message
