import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentls.agent.extract import CodeExtractor, indent_unit, reindent

CODE = "def f(x):\n    return x + 1"

REPLIES = {
    "plain": CODE + "\n",
    "plain, no final newline": CODE,
    "fenced": "```python\n" + CODE + "\n```\n",
    "prose then fence": "Here is the updated function:\n\n```python\n" + CODE + "\n```\n",
    "prose, fence, prose": "Sure.\n```py\n" + CODE + "\n```\nThis adds one to x.\n",
    "unlabelled prose then fence": "I changed the return value.\n```\n" + CODE + "\n```",
    "chatter, then unfenced code": "Here you go:\n" + CODE + "\n",
    "unfenced code, then a sentence": CODE + "\n\nThis function now adds one to its argument.\n",
    "tilde fence": "~~~\n" + CODE + "\n~~~\n",
}


def extract(reply: str, step: int) -> list[str]:
    extractor = CodeExtractor()
    for i in range(0, len(reply), step):
        extractor.feed(reply[i : i + step])
    return extractor.finish()


@pytest.mark.parametrize("name", REPLIES)
@pytest.mark.parametrize("step", [1, 3, 1000])
def test_only_the_code_is_kept(name: str, step: int) -> None:
    assert extract(REPLIES[name], step) == CODE.split("\n")


@given(st.sampled_from(sorted(REPLIES)), st.integers(1, 20))
def test_any_chunking_gives_the_same_code(name: str, step: int) -> None:
    assert extract(REPLIES[name], step) == extract(REPLIES[name], 10_000)


def test_code_that_contains_a_markdown_fence_inside_a_longer_fence() -> None:
    reply = "````markdown\n# Title\n```python\nx = 1\n```\n````\n"
    assert extract(reply, 5) == ["# Title", "```python", "x = 1", "```"]


def test_lines_stream_before_the_reply_ends() -> None:
    extractor = CodeExtractor()
    extractor.feed("```python\ndef f():\n    return")
    assert extractor.lines == ["def f():"]


def test_reindent_to_the_regions_indentation() -> None:
    assert reindent(["def f():", "    return 1", ""], "    ") == [
        "    def f():",
        "        return 1",
        "",
    ]
    assert reindent(["        x = 1", "        y = 2"], "    ") == ["    x = 1", "    y = 2"]
    assert reindent(["\tx = 1"], "\t") == ["\tx = 1"]


def test_reindent_maps_levels_onto_a_tab_indented_region() -> None:
    reply = ["def area(self, r):", "    if r < 0:", "        return 0", "    return r * r"]
    assert reindent(reply, "\t", "\t") == [
        "\tdef area(self, r):",
        "\t\tif r < 0:",
        "\t\t\treturn 0",
        "\t\treturn r * r",
    ]
    # no unit known from the region: a tab-indented region takes tabs
    assert reindent(reply[:2], "\t") == ["\tdef area(self, r):", "\t\tif r < 0:"]


def test_reindent_maps_tabs_and_steps_onto_spaces() -> None:
    assert reindent(["def f():", "\tx = 1", "\t\ty = 2"], "  ", "  ") == [
        "  def f():",
        "    x = 1",
        "      y = 2",
    ]
    # a 4-space reply onto a 2-space region
    reply = ["def f(a):", "    if a:", "        return a"]
    assert reindent(reply, "", "  ") == ["def f(a):", "  if a:", "    return a"]


def test_indent_unit() -> None:
    assert indent_unit(["\tdef f():", "\t\treturn 1"]) == "\t"
    assert indent_unit(["def f():", "", "  return 1"]) == "  "
    assert indent_unit(["x = 1", "y = 2"]) is None
