/** "Agent: Show context": the snippets the context engine would send, as Markdown. */

import * as path from "node:path";
import type { ContextResult } from "./commands";

const FENCE_LANGUAGES: Record<string, string> = {
  ".py": "python",
  ".js": "javascript",
  ".jsx": "javascript",
  ".mjs": "javascript",
  ".ts": "typescript",
  ".tsx": "tsx",
  ".go": "go",
  ".rs": "rust",
  ".java": "java",
  ".c": "c",
  ".h": "c",
  ".cc": "cpp",
  ".cpp": "cpp",
  ".hpp": "cpp",
  ".lua": "lua",
};

export function fenceLanguage(file: string): string {
  return FENCE_LANGUAGES[path.extname(file).toLowerCase()] ?? "";
}

/** A fence longer than any run of backticks in the text, so the text cannot close it. */
function fence(text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  return "`".repeat(longest + 1);
}

export function renderContext(result: ContextResult, where: string, budget?: number): string {
  const lines = [
    `# Context for ${where}`,
    "",
    `${result.snippets.length} snippet${result.snippets.length === 1 ? "" : "s"}, ` +
      `${result.totalTokens} tokens${budget === undefined ? "" : ` of a budget of ${budget}`}.`,
    "",
  ];
  if (result.snippets.length === 0) {
    lines.push("The engine found nothing to send for this position.", "");
  }
  for (const snippet of result.snippets) {
    const span = snippet.startLine === snippet.endLine ? `${snippet.startLine}` : `${snippet.startLine}-${snippet.endLine}`;
    const marks = fence(snippet.text);
    lines.push(
      `## ${snippet.path}:${span}`,
      "",
      `${snippet.reason} · ${snippet.tokens} tokens`,
      "",
      `${marks}${fenceLanguage(snippet.path)}`,
      snippet.text.replace(/\s+$/, ""),
      marks,
      "",
    );
  }
  return lines.join("\n");
}
