/** Arguments of the server's commands, built from the editor's state, and the shapes
 * of their results (ARCHITECTURE.md section 2). */

import type * as vscode from "vscode";

export type Mode = "edit" | "plan" | "ask";

export interface LspPosition {
  line: number;
  character: number;
}

export interface LspRange {
  start: LspPosition;
  end: LspPosition;
}

/** `agentls.run {instruction, uri?, range?, mode?}`. */
export interface RunArgs {
  instruction?: string;
  uri?: string;
  range?: LspRange;
  mode?: Mode;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

export interface RunResult {
  taskId: string;
  /** "running": the server answered early and the task goes on in the background. */
  status: "done" | "cancelled" | "failed" | "running";
  summary: string;
  editedFiles: string[];
  usage: Usage;
}

export interface TaskInfo {
  taskId: string;
  instruction: string;
  uri: string | null;
  status: "running" | "done" | "cancelled" | "failed";
  step: string;
  seconds: number;
  usage: Usage;
}

export interface StatusResult {
  running: TaskInfo[];
  recent: TaskInfo[];
  usage: Usage;
}

export interface Snippet {
  path: string;
  startLine: number;
  endLine: number;
  tokens: number;
  reason: string;
  text: string;
}

export interface ContextResult {
  snippets: Snippet[];
  totalTokens: number;
}

/** What we read of a `vscode.TextEditor`. */
export interface EditorState {
  readonly document: { readonly uri: vscode.Uri };
  readonly selection: vscode.Selection;
}

export function position(at: vscode.Position): LspPosition {
  return { line: at.line, character: at.character };
}

export function range(selection: vscode.Range): LspRange {
  return { start: position(selection.start), end: position(selection.end) };
}

/**
 * "Run task…" and "Plan…": on the selection when there is one, else on the file (no
 * range), else (no editor) on the workspace.
 */
export function taskArgs(instruction: string, editor: EditorState | undefined, mode: Mode): RunArgs {
  const args: RunArgs = { instruction, mode };
  if (editor === undefined) {
    return args;
  }
  args.uri = editor.document.uri.toString();
  if (!editor.selection.isEmpty) {
    args.range = range(editor.selection);
  }
  return args;
}

/**
 * "Edit selection…": a focused rewrite of the selection; an empty selection is sent as
 * an empty range at the cursor, which the server takes as the enclosing function or class.
 */
export function selectionArgs(instruction: string, editor: EditorState): RunArgs {
  return { instruction, uri: editor.document.uri.toString(), range: range(editor.selection), mode: "edit" };
}

/** `agentls.context {uri, position}` at the cursor. */
export function contextArgs(editor: EditorState): { uri: string; position: LspPosition } {
  return { uri: editor.document.uri.toString(), position: position(editor.selection.active) };
}

/** The task "Undo last task" acts on: the last run's, else the newest finished one the server knows. */
export function undoTarget(lastTaskId: string | undefined, status: StatusResult | undefined): string | undefined {
  if (lastTaskId !== undefined) {
    return lastTaskId;
  }
  const finished = (status?.recent ?? []).filter((task) => task.status !== "running");
  return finished[finished.length - 1]?.taskId;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isUsage(value: unknown): value is Usage {
  return isObject(value) && typeof value.inputTokens === "number" && typeof value.outputTokens === "number";
}

export function isRunResult(value: unknown): value is RunResult {
  return (
    isObject(value) &&
    typeof value.taskId === "string" &&
    typeof value.status === "string" &&
    typeof value.summary === "string" &&
    Array.isArray(value.editedFiles) &&
    isUsage(value.usage)
  );
}

export function isStatusResult(value: unknown): value is StatusResult {
  return isObject(value) && Array.isArray(value.running) && Array.isArray(value.recent);
}

export function isContextResult(value: unknown): value is ContextResult {
  return isObject(value) && Array.isArray(value.snippets) && typeof value.totalTokens === "number";
}

/** The one JSON object of an `agentls.run` call as the code actions send it. */
export function runArgsFrom(args: readonly unknown[]): RunArgs {
  const [first] = args;
  return isObject(first) ? first : {};
}

export function totalTokens(usage: Usage): number {
  return usage.inputTokens + usage.outputTokens;
}
