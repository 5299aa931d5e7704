/** The language client: finds the interpreter, checks (or installs) agentls there,
 * starts `python -m agentls` on stdio, and restarts it on request. One at a time. */

import * as vscode from "vscode";
import { LanguageClient, type LanguageClientOptions, RevealOutputChannelOn, State } from "vscode-languageclient/node";
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  ShowMessageNotification,
  ShowMessageRequest,
} from "vscode-languageserver-protocol";
import { API_KEY_SECRET, CLIENT_ID, CLIENT_NAME } from "./constants";
import { type DiagnosticTimes, DiagnosticsFeature } from "./diagnostics";
import type { ServerMessages } from "./messages";
import { isBuiltinProgressFeature, TaskProgressFeature } from "./progress";
import { type Interpreter, type PythonApi, describe, findInterpreter, partInFolders, versionText } from "./python";
import { runInstall, runProbe, serverExecutable } from "./server";
import { agentlsConfig, read } from "./config";
import { type ConfigReader, RESTART_SETTINGS, answerConfiguration, firstSettings, serverSettings, traceHint } from "./settings";
import type { TaskStatus } from "./status";
import { errorMessage, InstructionPromptFeature, type Tasks } from "./tasks";

/** vscode-languageclient without its own progress feature (ours replaces it). */
class AgentClient extends LanguageClient {
  override registerFeature(feature: Parameters<LanguageClient["registerFeature"]>[0]): void {
    if (!isBuiltinProgressFeature(feature)) {
      super.registerFeature(feature);
    }
  }
}

export interface ServerDeps {
  readonly log: vscode.LogOutputChannel;
  readonly status: TaskStatus;
  readonly tasks: Tasks;
  readonly secrets: vscode.SecretStorage;
  readonly pythonApi: PythonApi | undefined;
  readonly messages: ServerMessages;
  readonly diagnosticTimes: DiagnosticTimes;
}

const STOP_TIMEOUT_MS = 2000;


export class Server implements vscode.Disposable {
  private client: AgentClient | undefined;
  private queue: Promise<void> = Promise.resolve();
  /** The settings the running server was started with (interpreter, arguments, key variable). */
  private launchedWith: string | undefined;

  constructor(private readonly deps: ServerDeps) {}

  /** Stops the running server (if any) and starts a new one; calls queue up. */
  restart(): Promise<void> {
    this.queue = this.queue
      .then(() => this.start())
      .catch((error: unknown) => this.fail(`The server did not start: ${errorMessage(error)}`));
    return this.queue;
  }

  /** After a change of a setting the process depends on: a restart only when its value as
   * read here changed (a restricted setting planted by a workspace that is not trusted
   * changes nothing), else the server is told, as for any other setting. */
  restartIfChanged(): Promise<void> {
    if (this.client !== undefined && this.launchSettings() === this.launchedWith) {
      return this.settingsChanged();
    }
    return this.restart();
  }

  private launchSettings(): string {
    const config = this.configuration();
    return JSON.stringify(RESTART_SETTINGS.map((key) => config.get(key) ?? null));
  }

  /** Sends `workspace/executeCommand` with the one JSON object of the contract. */
  async execute(command: string, args: object = {}): Promise<unknown> {
    const client = this.client;
    if (client === undefined || !client.isRunning()) {
      throw new Error("the agentls server is not running (see the log: Agent: Show log)");
    }
    return client.sendRequest(ExecuteCommandRequest.type, { command, arguments: [args] });
  }

  /** Tells the server its settings changed; it pulls them with `workspace/configuration`. */
  async settingsChanged(): Promise<void> {
    const client = this.client;
    if (client?.isRunning()) {
      await client.sendNotification(DidChangeConfigurationNotification.type, {
        settings: serverSettings(this.configuration()),
      });
    }
  }

  private folder(): vscode.WorkspaceFolder | undefined {
    return vscode.workspace.workspaceFolders?.[0];
  }

  private configuration(scopeUri?: string): ConfigReader {
    return agentlsConfig(scopeUri ? vscode.Uri.parse(scopeUri) : undefined);
  }

  private async start(): Promise<void> {
    await this.stop();
    const { log, status } = this.deps;
    status.serverStarting();
    const folder = this.folder();
    const config = this.configuration();
    this.launchedWith = this.launchSettings();
    const found = await findInterpreter({
      resource: folder?.uri,
      setting: read<string[]>(config, "interpreter", []),
      api: this.deps.pythonApi,
    });
    if (!found.ok) {
      return this.fail(found.reason);
    }
    const interpreter = found.interpreter;
    const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
    const inside = vscode.workspace.isTrusted ? undefined : partInFolders(interpreter, folders, folder?.uri.fsPath);
    if (inside !== undefined) {
      return this.fail(
        `In Restricted Mode, agentls does not run a Python from the workspace (${inside}, from the ${interpreter.source}). ` +
          "Trust the folder, or choose an interpreter outside it.",
      );
    }
    let ready = await runProbe(interpreter);
    if (ready.kind === "missing") {
      log.warn(ready.message);
      if (!(await this.offerInstall(interpreter, ready.message))) {
        status.serverStopped(ready.message);
        return;
      }
      ready = await runProbe(interpreter);
    }
    if (ready.kind !== "ready") {
      return this.fail(ready.message);
    }
    const { probe } = ready;
    log.info(
      `Python ${versionText(probe.python)} at ${probe.executable} (from the ${interpreter.source}); ` +
        `agentls ${probe.version ?? "(version unknown)"}`,
    );
    const executable = serverExecutable(interpreter, {
      serverArgs: read<string[]>(config, "serverArgs", []),
      apiKeyEnv: read<string | undefined>(config, "model.apiKeyEnv", undefined),
      apiKey: await this.deps.secrets.get(API_KEY_SECRET),
      env: process.env,
      cwd: folder?.uri.fsPath,
    });
    log.info(`Starting the server: ${[executable.command, ...(executable.args ?? [])].join(" ")}`);
    const hint = traceHint(config.get("trace.server"), log.logLevel === vscode.LogLevel.Trace);
    if (hint !== undefined) {
      log.warn(hint);
    }
    const client = new AgentClient(CLIENT_ID, CLIENT_NAME, { run: executable, debug: executable }, this.options(config));
    client.registerFeature(new TaskProgressFeature(client, status));
    client.registerFeature(new DiagnosticsFeature(client, this.deps.diagnosticTimes));
    client.registerFeature(new InstructionPromptFeature());
    // In place of vscode-languageclient's own handlers (registered before these).
    client.onNotification(ShowMessageNotification.type, (params) => this.deps.messages.show(params));
    client.onRequest(ShowMessageRequest.type, (params) => this.deps.messages.request(params));
    client.onDidChangeState((event) => {
      if (this.client !== client) {
        return;
      }
      if (event.newState === State.Stopped) {
        status.serverStopped("The server stopped.");
      } else if (event.newState === State.Running) {
        // also after vscode-languageclient restarted a server that crashed
        status.serverRunning(describe(interpreter));
      }
    });
    this.client = client;
    try {
      await client.start();
    } catch (error) {
      // vscode-languageclient has shown its own message; the log has the details.
      log.error(`The server did not start: ${errorMessage(error)}`);
      status.serverStopped(`The server did not start: ${errorMessage(error)}`);
      return;
    }
    status.serverRunning(describe(interpreter));
  }

  private options(config: ConfigReader): LanguageClientOptions {
    const { log, tasks } = this.deps;
    return {
      documentSelector: [{ scheme: "file" }, { scheme: "untitled" }],
      outputChannel: log,
      traceOutputChannel: log,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions: firstSettings(config),
      middleware: {
        executeCommand: (command, args, next) => tasks.executeCommand(command, args, next),
        workspace: {
          configuration: async (params, token, next) => {
            const defaults = await next(params, token);
            if (!Array.isArray(defaults)) {
              return defaults;
            }
            return answerConfiguration(params.items, defaults, (scopeUri) => this.configuration(scopeUri));
          },
        },
      },
    };
  }

  private async offerInstall(interpreter: Interpreter, message: string): Promise<boolean> {
    const spec = read(this.configuration(), "serverPackage", "").trim() || "agentls";
    const install = "Install";
    const fromFolder = "Install from Folder…";
    const select = "Select Interpreter";
    const buttons = this.deps.pythonApi ? [install, fromFolder, select] : [install, fromFolder];
    const choice = await vscode.window.showWarningMessage(
      `${message} Install it there with "pip install ${spec}"?`,
      ...buttons,
    );
    if (choice === select) {
      await vscode.commands.executeCommand("python.setInterpreter");
      return false; // the change of environment restarts the server
    }
    if (choice === fromFolder) {
      const picked = await vscode.window.showOpenDialog({
        canSelectFolders: true,
        canSelectFiles: false,
        openLabel: "Install agentls from this folder",
      });
      const folder = picked?.[0]?.fsPath;
      return folder !== undefined && this.install(interpreter, folder);
    }
    return choice === install && this.install(interpreter, spec);
  }

  private async install(interpreter: Interpreter, spec: string): Promise<boolean> {
    const { log } = this.deps;
    log.show(true);
    const code = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `agentls: pip install ${spec}` },
      () => runInstall(interpreter, spec, (text) => log.append(text)),
    );
    if (code !== 0) {
      void vscode.window.showErrorMessage(`agentls: pip install ${spec} failed (exit code ${code}); see the log.`);
      return false;
    }
    return true;
  }

  private fail(message: string): void {
    this.deps.log.error(message);
    this.deps.status.serverStopped(message);
    const select = "Select Interpreter";
    const buttons = this.deps.pythonApi ? ["Show Log", select] : ["Show Log"];
    void vscode.window.showErrorMessage(`agentls: ${message}`, ...buttons).then((choice) => {
      if (choice === "Show Log") {
        this.deps.log.show();
      } else if (choice === select) {
        void vscode.commands.executeCommand("python.setInterpreter");
      }
    });
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client === undefined) {
      return;
    }
    try {
      await client.dispose(STOP_TIMEOUT_MS); // stops it first
    } catch (error) {
      this.deps.log.warn(`Stopping the server: ${errorMessage(error)}`);
    }
  }

  dispose(): void {
    void this.stop();
  }
}
