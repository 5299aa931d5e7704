/** Reads the server's own sources (read-only) so the tests catch drift between the
 * client and the server: the settings tree of config.py, the command ids of commands.py. */

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const SERVER = new URL("../../server/agentls/", import.meta.url);

export function serverSource(relative: string): string {
  return readFileSync(fileURLToPath(new URL(relative, SERVER)), "utf8");
}

export interface PyField {
  /** The dotted camelCase key, e.g. "model.apiKeyEnv". */
  key: string;
  annotation: string;
  default: unknown;
  minimum: number | undefined;
  maximum: number | undefined;
  doc: string | undefined;
}

function camel(name: string): string {
  const [head = "", ...rest] = name.split("_");
  return head + rest.map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join("");
}

function literal(text: string): unknown {
  const value = text.trim();
  if (value === "None") return null;
  if (value === "True") return true;
  if (value === "False") return false;
  if (/^-?[\d_]+(\.\d+)?$/.test(value)) return Number(value.replace(/_/g, ""));
  if (/^".*"$/.test(value)) return JSON.parse(value);
  throw new Error(`cannot read the Python literal ${value}`);
}

interface RawField {
  name: string;
  annotation: string;
  value: string | undefined;
  doc: string | undefined;
}

function classes(source: string): Map<string, RawField[]> {
  const result = new Map<string, RawField[]>();
  const lines = source.split("\n");
  let current: RawField[] | undefined;
  let inString = false; // inside a docstring of several lines (its lines are no fields)
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    const quotes = (line.match(/"""/g) ?? []).length;
    if (inString || quotes % 2 === 1) {
      inString = inString !== (quotes % 2 === 1);
      continue;
    }
    const header = /^class (\w+)\b.*:$/.exec(line);
    if (header) {
      current = [];
      result.set(header[1] ?? "", current);
      continue;
    }
    if (/^\S/.test(line)) {
      current = undefined;
      continue;
    }
    const field = /^ {4}(\w+): ([^=]+?)(?: = (.+))?$/.exec(line);
    if (current && field) {
      current.push({ name: field[1] ?? "", annotation: (field[2] ?? "").trim(), value: field[3], doc: docstring(lines, i + 1) });
    }
  }
  return result;
}

/** The docstring that starts at `lines[at]`, on one line or several, else undefined. */
function docstring(lines: readonly string[], at: number): string | undefined {
  const first = (lines[at] ?? "").trim();
  if (!first.startsWith('"""')) {
    return undefined;
  }
  if (first.endsWith('"""') && first.length >= 6) {
    return first.slice(3, -3);
  }
  const parts = [first.slice(3)];
  for (let i = at + 1; i < lines.length; i++) {
    const line = (lines[i] ?? "").trim();
    if (line.endsWith('"""')) {
      parts.push(line.slice(0, -3));
      return parts.join(" ").trim();
    }
    parts.push(line);
  }
  return undefined;
}

/** Every leaf of the settings tree in config.py, with its type, default, minimum and docstring. */
export function serverSettingsTree(): PyField[] {
  const source = serverSource("config.py");
  const aliases = new Map<string, string>();
  for (const match of source.matchAll(/^(\w+) = (Literal\[.*\])$/gm)) {
    aliases.set(match[1] ?? "", match[2] ?? "");
  }
  const all = classes(source);
  const root = all.get("Settings");
  if (!root) throw new Error("no class Settings in config.py");
  const fields: PyField[] = [];
  for (const section of root) {
    const members = all.get(section.annotation);
    if (!members) throw new Error(`no class ${section.annotation} in config.py`);
    for (const member of members) {
      let value: unknown = null;
      let minimum: number | undefined;
      let maximum: number | undefined;
      const text = member.value ?? "None";
      const call = /^field\((.*)\)$/.exec(text);
      if (call) {
        const args = call[1] ?? "";
        const factory = /default_factory=(\w+)/.exec(args);
        const plain = /(?:^|, )default=([^,]+)/.exec(args);
        const positive = /_positive\(([^)]*)\)/.exec(args);
        const min = /"min": ([\d._]+)/.exec(args);
        const max = /"max": ([\d._]+)/.exec(args);
        if (factory) value = factory[1] === "list" ? [] : {};
        else if (plain) value = literal(plain[1] ?? "");
        if (positive) minimum = Number((positive[1] || "1").replace(/_/g, ""));
        if (min) minimum = Number((min[1] ?? "").replace(/_/g, ""));
        if (max) maximum = Number((max[1] ?? "").replace(/_/g, ""));
      } else {
        value = literal(text);
      }
      fields.push({
        key: `${camel(section.name)}.${camel(member.name)}`,
        annotation: aliases.get(member.annotation) ?? member.annotation,
        default: value,
        minimum,
        maximum,
        doc: member.doc,
      });
    }
  }
  return fields;
}

/** The ids the server registers with `@server.command(...)`. */
export function serverCommandIds(): string[] {
  return [...serverSource("lsp/commands.py").matchAll(/@server\.command\("([^"]+)"\)/g)].map((m) => m[1] ?? "");
}

/** The arguments of the "Agent: edit selection…" code action, as code_actions.py builds them. */
export function editSelectionAction(): { command: string; argumentKeys: string[] } | undefined {
  const source = serverSource("lsp/code_actions.py");
  const match = /title="Agent: edit selection…"[\s\S]*?command="([^"]+)",\s*arguments=\[\{([^\]]*)\}\]/.exec(source);
  if (!match) return undefined;
  return { command: match[1] ?? "", argumentKeys: [...(match[2] ?? "").matchAll(/"(\w+)":/g)].map((m) => m[1] ?? "") };
}
