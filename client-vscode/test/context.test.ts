import { describe, expect, it } from "vitest";
import { fenceLanguage, renderContext } from "../src/context";

describe("renderContext (Agent: Show context)", () => {
  const result = {
    totalTokens: 57,
    snippets: [
      { path: "src/app.py", startLine: 10, endLine: 14, tokens: 40, reason: "enclosing function", text: "def f():\n    return g()\n\n" },
      { path: "src/util.ts", startLine: 3, endLine: 3, tokens: 17, reason: "definition of g", text: "const s = ```;" },
    ],
  };

  it("lists every snippet with its place, reason and tokens, in fenced code", () => {
    const text = renderContext(result, "src/app.py:12", 8000);
    expect(text).toContain("# Context for src/app.py:12");
    expect(text).toContain("2 snippets, 57 tokens of a budget of 8000.");
    expect(text).toContain("## src/app.py:10-14\n\nenclosing function · 40 tokens\n\n```python\ndef f():\n    return g()\n```");
    expect(text).toContain("## src/util.ts:3\n");
    // a fence longer than the backticks inside the text
    expect(text).toContain("````typescript\nconst s = ```;\n````");
  });

  it("says so when there is nothing", () => {
    const text = renderContext({ snippets: [], totalTokens: 0 }, "a.py:1");
    expect(text).toContain("0 snippets, 0 tokens.");
    expect(text).toContain("found nothing");
  });

  it("names the fence language from the extension", () => {
    expect(fenceLanguage("a/b.RS")).toBe("rust");
    expect(fenceLanguage("Makefile")).toBe("");
  });
});
