/** Wiring only: the output channel, the status bar, the server, the commands and the
 * events that restart or notify the server. */

import * as vscode from "vscode";
import { Server } from "./client";
import { agentlsConfig } from "./config";
import { API_KEY_SECRET, CLIENT_COMMANDS, CLIENT_NAME } from "./constants";
import { DiagnosticTimes } from "./diagnostics";
import { registerDocuments } from "./documents";
import { commandHandlers, messageUi, registerCommands, taskUi } from "./handlers";
import { ServerMessages } from "./messages";
import { loadPythonApi } from "./python";
import { changeAction } from "./settings";
import { StatusBar, TaskStatus } from "./status";
import { Tasks } from "./tasks";

let server: Server | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = vscode.window.createOutputChannel(CLIENT_NAME, { log: true });
  const status = new TaskStatus();
  const messages = new ServerMessages(messageUi);
  const tasks = new Tasks(status, taskUi, messages);
  const diagnosticTimes = new DiagnosticTimes();
  context.subscriptions.push(log, new StatusBar(status), diagnosticTimes, registerDocuments());

  const pythonApi = await loadPythonApi();
  log.info(pythonApi ? "Using the Python extension's interpreter." : "The Python extension is not available.");
  server = new Server({ log, status, tasks, secrets: context.secrets, pythonApi, messages, diagnosticTimes });
  const running = server;

  context.subscriptions.push(
    running,
    ...registerCommands(CLIENT_COMMANDS, commandHandlers({ server: running, tasks, secrets: context.secrets, log }), log),
    vscode.workspace.onDidChangeConfiguration((event) => {
      const action = changeAction((section) => event.affectsConfiguration(section));
      if (action === "restart") {
        void running.restartIfChanged();
      } else if (action === "notify") {
        void running.settingsChanged();
      }
    }),
    context.secrets.onDidChange((event) => {
      if (event.key === API_KEY_SECRET) {
        void running.restart();
      }
    }),
    // Trusted now: the workspace's restricted settings apply (settings.ts trustedView).
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      log.info("The workspace is trusted now; restarting the server with its settings.");
      void running.restart();
    }),
  );
  if (pythonApi !== undefined) {
    context.subscriptions.push(
      pythonApi.environments.onDidChangeActiveEnvironmentPath(() => {
        const setting = (agentlsConfig().get("interpreter") as string[] | undefined) ?? [];
        if (setting.length === 0) {
          log.info("The active Python environment changed; restarting the server.");
          void running.restart();
        }
      }),
    );
  }
  void running.restart();
}

export async function deactivate(): Promise<void> {
  await server?.stop();
  server = undefined;
}
