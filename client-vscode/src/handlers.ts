/** What each contributed command does: read the editor, ask the user, call the server. */

import * as path from "node:path";
import * as vscode from "vscode";
import { agentlsConfig } from "./config";
import { API_KEY_SECRET, type ClientCommand, SERVER_COMMANDS } from "./constants";
import {
  type EditorState,
  type Mode,
  type RunArgs,
  type RunResult,
  contextArgs,
  isContextResult,
  isStatusResult,
  selectionArgs,
  taskArgs,
  undoTarget,
} from "./commands";
import { renderContext } from "./context";
import { openMarkdown } from "./documents";
import type { MessageUi } from "./messages";
import { DEFAULT_API_KEY_ENV } from "./server";
import type { TaskUi, Tasks } from "./tasks";

/** What the handlers need of the server (client.ts's `Server`). */
export interface ServerPort {
  execute(command: string, args?: object): Promise<unknown>;
  restart(): Promise<void>;
}

export interface HandlerDeps {
  readonly server: ServerPort;
  readonly tasks: Tasks;
  readonly secrets: vscode.SecretStorage;
  readonly log: vscode.OutputChannel;
}

const STATUS_MESSAGE_MS = 10_000;

function where(editor: EditorState | undefined): string {
  if (editor === undefined) {
    return "the workspace";
  }
  const name = path.basename(editor.document.uri.path);
  const { start, end, isEmpty } = editor.selection;
  if (isEmpty) {
    return name;
  }
  return start.line === end.line ? `${name}, line ${start.line + 1}` : `${name}, lines ${start.line + 1}-${end.line + 1}`;
}

function ask(title: string, prompt: string): Thenable<string | undefined> {
  return vscode.window.showInputBox({
    title,
    prompt,
    placeHolder: "e.g. add type hints and a docstring",
    ignoreFocusOut: true,
    validateInput: (value) => (value.trim() === "" ? "Say what the agent should do." : undefined),
  });
}


/** How the server's messages are shown (messages.ts). */
export const messageUi: MessageUi = {
  show(type, message, actions, detail) {
    const show =
      type === 1 ? vscode.window.showErrorMessage : type === 2 ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    return detail === undefined ? show(message, ...actions) : show(message, { modal: true, detail }, ...actions);
  },
  openMarkdown,
};

/** The dialogs of a run: the instruction a code action left out, and the result. */
export const taskUi: TaskUi = {
  askInstruction(args: RunArgs) {
    const editor = vscode.window.activeTextEditor;
    const subject = args.range && editor ? `the selection in ${where(editor)}` : "the selection";
    return ask("Agent: Edit selection", `What should the agent do with ${subject}?`);
  },
  showResult(args: RunArgs, result: RunResult) {
    if (result.status !== "done") {
      return; // the server says "failed" and "cancelled" itself (window/showMessage)
    }
    if (args.mode === "ask") {
      // The server sends the answer as a message too; messages.ts keeps that one back.
      void openMarkdown(`# Answer: ${args.instruction ?? ""}\n\n${result.summary}\n`);
      return;
    }
    vscode.window.setStatusBarMessage(`$(check) agentls: ${result.summary}`, STATUS_MESSAGE_MS);
  },
  showOutcome(command: string, result: unknown) {
    if (typeof result === "object" && result !== null && "status" in result) {
      const { status, message } = result as { status: unknown; message?: unknown };
      const detail = typeof message === "string" ? `: ${message}` : "";
      vscode.window.setStatusBarMessage(`agentls: ${command.replace("agentls.", "")} ${String(status)}${detail}`, STATUS_MESSAGE_MS);
    }
  },
};

/** The editor a task without a selection runs on: none (the workspace) when its document
 * is outside the workspace folders (an opened plan or answer, an untitled buffer), which
 * the server's agent has no workspace for. */
export function taskEditor(editor: vscode.TextEditor | undefined): vscode.TextEditor | undefined {
  if (editor === undefined || !editor.selection.isEmpty) {
    return editor;
  }
  return vscode.workspace.getWorkspaceFolder(editor.document.uri) === undefined ? undefined : editor;
}

export function commandHandlers(deps: HandlerDeps): Record<ClientCommand, () => Promise<unknown>> {
  const { server, tasks } = deps;
  const send = (args: RunArgs) => server.execute(SERVER_COMMANDS.run, args);

  async function runWithPrompt(mode: Mode): Promise<void> {
    const editor = taskEditor(vscode.window.activeTextEditor);
    const title = { plan: "Agent: Plan", ask: "Agent: Ask", edit: "Agent: Run task" }[mode];
    const verb = { plan: "plan", ask: "answer", edit: "do" }[mode];
    const instruction = await ask(title, `What should the agent ${verb} (on ${where(editor)})?`);
    if (instruction?.trim()) {
      await tasks.run(taskArgs(instruction, editor, mode), send);
    }
  }

  function editorOrSay(): vscode.TextEditor | undefined {
    const editor = vscode.window.activeTextEditor;
    if (editor === undefined) {
      void vscode.window.showInformationMessage("agentls: open a file first.");
    }
    return editor;
  }

  return {
    runTask: () => runWithPrompt("edit"),
    plan: () => runWithPrompt("plan"),
    ask: () => runWithPrompt("ask"),

    async editSelection() {
      const editor = editorOrSay();
      if (editor === undefined) {
        return;
      }
      const subject = editor.selection.isEmpty ? `the code around the cursor in ${where(editor)}` : `the selection (${where(editor)})`;
      const instruction = await ask("Agent: Edit selection", `What should the agent do with ${subject}?`);
      if (instruction?.trim()) {
        await tasks.run(selectionArgs(instruction, editor), send);
      }
    },

    async cancel() {
      const status = await server.execute(SERVER_COMMANDS.status);
      const running = isStatusResult(status) ? status.running : [];
      if (running.length === 0) {
        void vscode.window.showInformationMessage("agentls: no task is running.");
        return;
      }
      let taskId: string | undefined = running[0]?.taskId;
      if (running.length > 1) {
        const all = { label: "All tasks", taskId: undefined as string | undefined };
        const picked = await vscode.window.showQuickPick(
          [all, ...running.map((task) => ({ label: task.instruction, description: task.step, taskId: task.taskId }))],
          { title: "Agent: Cancel", placeHolder: "Which task?" },
        );
        if (picked === undefined) {
          return;
        }
        taskId = picked.taskId;
      }
      await server.execute(SERVER_COMMANDS.cancel, taskId === undefined ? {} : { taskId });
    },

    async undo() {
      const status = tasks.lastTaskId === undefined ? await server.execute(SERVER_COMMANDS.status) : undefined;
      const taskId = undoTarget(tasks.lastTaskId, isStatusResult(status) ? status : undefined);
      if (taskId === undefined) {
        void vscode.window.showInformationMessage("agentls: no finished task to undo.");
        return;
      }
      const result = await server.execute(SERVER_COMMANDS.undo, { taskId });
      taskUi.showOutcome(SERVER_COMMANDS.undo, result);
    },

    async showContext() {
      const editor = editorOrSay();
      if (editor === undefined) {
        return;
      }
      const result = await server.execute(SERVER_COMMANDS.context, contextArgs(editor));
      if (!isContextResult(result)) {
        throw new Error(`unexpected answer to ${SERVER_COMMANDS.context}`);
      }
      const at = `${vscode.workspace.asRelativePath(editor.document.uri)}:${editor.selection.active.line + 1}`;
      const budget = agentlsConfig().get("context.maxTokens") as number | undefined;
      await openMarkdown(renderContext(result, at, budget));
    },

    async setApiKey() {
      const variable = (agentlsConfig().get("model.apiKeyEnv") as string | undefined) || DEFAULT_API_KEY_ENV;
      const key = await vscode.window.showInputBox({
        title: "Agent: Set API Key",
        prompt: `The model's API key, kept in VS Code's secret storage and given to the server as ${variable}. Empty: forget the stored key.`,
        password: true,
        ignoreFocusOut: true,
      });
      if (key === undefined) {
        return;
      }
      if (key.trim() === "") {
        await deps.secrets.delete(API_KEY_SECRET);
        void vscode.window.showInformationMessage("agentls: the stored API key is gone; the server restarts without it.");
      } else {
        await deps.secrets.store(API_KEY_SECRET, key.trim());
        void vscode.window.showInformationMessage(`agentls: API key stored; the server restarts with it in ${variable}.`);
      }
      // secrets.onDidChange restarts the server
    },

    restart: () => server.restart(),

    showLog() {
      deps.log.show();
      return Promise.resolve();
    },
  };
}

/** Registers each handler under its command id; a failure becomes one error message. */
export function registerCommands(
  ids: Record<ClientCommand, string>,
  handlers: Record<ClientCommand, () => Promise<unknown>>,
  log: vscode.OutputChannel,
): vscode.Disposable[] {
  return (Object.keys(ids) as ClientCommand[]).map((name) =>
    vscode.commands.registerCommand(ids[name], async () => {
      try {
        await handlers[name]();
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        log.appendLine(`${ids[name]} failed: ${message}`);
        const choice = await vscode.window.showErrorMessage(`agentls: ${message}`, "Show Log");
        if (choice === "Show Log") {
          log.show();
        }
      }
    }),
  );
}
