/** The status bar item: the server's state and the running task's step and tokens.
 * `TaskStatus` is the model (plain data, tested); `StatusBar` puts it on screen. */

import * as vscode from "vscode";
import { CLIENT_COMMANDS } from "./constants";
import { type RunResult, totalTokens } from "./commands";

/** A `$/progress` report of a task, as the server writes it (server/agentls/lsp/commands.py):
 * "<step> · <in>+<out> tok", then " · $<cost>" when the model's prices are set. */
export interface Report {
  step: string;
  inputTokens?: number;
  outputTokens?: number;
  costUsd?: number;
}

export function parseReport(message: string): Report {
  const match = /^(.*?)\s*·\s*(\d+)\+(\d+) tok(?:\s*·\s*\$(\d+(?:\.\d+)?))?$/.exec(message.trim());
  if (match === null) {
    return { step: message.trim() };
  }
  const report: Report = { step: match[1] ?? "", inputTokens: Number(match[2]), outputTokens: Number(match[3]) };
  if (match[4] !== undefined) {
    report.costUsd = Number(match[4]);
  }
  return report;
}

/** " · 1540 tok", " · 1540 tok · $0.0123" or "" when the report has no usage. */
export function usageText(report: Report): string {
  if (report.inputTokens === undefined || report.outputTokens === undefined) {
    return "";
  }
  const cost = report.costUsd === undefined ? "" : ` · $${report.costUsd.toFixed(4)}`;
  return ` · ${report.inputTokens + report.outputTokens} tok${cost}`;
}

export type ServerState = "starting" | "running" | "stopped";

export interface View {
  text: string;
  tooltip: string;
  command: string;
  error: boolean;
}

const STEP_LIMIT = 32;

function short(text: string): string {
  return text.length <= STEP_LIMIT ? text : `${text.slice(0, STEP_LIMIT - 1)}…`;
}

export class TaskStatus {
  private server: ServerState = "starting";
  private serverMessage = "";
  /** Runs this client sent that have not answered yet. */
  private requests = 0;
  /** Task progress tokens between begin and end, with their last report. */
  private readonly tasks = new Map<string, { title: string; report: Report }>();
  private lastTask: string | undefined;
  private failure: string | undefined;
  private lastSummary: string | undefined;
  private readonly listeners: Array<() => void> = [];

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) {
      listener();
    }
  }

  serverStarting(): void {
    this.server = "starting";
    this.serverMessage = "";
    this.failure = undefined; // a task's failure belongs to the server that ran it
    this.tasks.clear();
    this.changed();
  }

  serverRunning(detail: string): void {
    this.server = "running";
    this.serverMessage = detail;
    this.changed();
  }

  serverStopped(message: string): void {
    this.server = "stopped";
    this.serverMessage = message;
    this.tasks.clear();
    this.changed();
  }

  requestStarted(): void {
    this.requests += 1;
    this.failure = undefined;
    this.changed();
  }

  requestEnded(result: RunResult | undefined, error?: string): void {
    this.requests = Math.max(0, this.requests - 1);
    if (error !== undefined) {
      this.failure = error;
    } else if (result?.status === "failed") {
      this.failure = result.summary;
    } else if (result !== undefined && result.status !== "running") {
      this.lastSummary = `${result.status}: ${result.summary} (${totalTokens(result.usage)} tok)`;
    }
    this.changed();
  }

  progressBegin(token: string, title: string): void {
    this.tasks.set(token, { title, report: { step: "starting" } });
    this.lastTask = token;
    this.changed();
  }

  progressReport(token: string, message: string): void {
    const task = this.tasks.get(token);
    if (task !== undefined) {
      task.report = parseReport(message);
      this.lastTask = token;
      this.changed();
    }
  }

  progressEnd(token: string): void {
    if (this.tasks.delete(token)) {
      this.changed();
    }
  }

  get running(): boolean {
    return this.server === "running" && (this.requests > 0 || this.tasks.size > 0);
  }

  view(): View {
    if (this.server === "starting") {
      return { text: "$(loading~spin) agentls", tooltip: "agentls: starting the server", command: CLIENT_COMMANDS.showLog, error: false };
    }
    if (this.server === "stopped") {
      return {
        text: "$(error) agentls",
        tooltip: `agentls: not running. ${this.serverMessage} Click to show the log.`.trim(),
        command: CLIENT_COMMANDS.showLog,
        error: true,
      };
    }
    if (this.running) {
      const task = (this.lastTask !== undefined && this.tasks.get(this.lastTask)) || [...this.tasks.values()].pop();
      const report = task?.report ?? { step: "starting" };
      const tokens = usageText(report);
      const count = Math.max(this.tasks.size, this.requests);
      const more = count > 1 ? ` (${count} tasks)` : "";
      return {
        text: `$(sync~spin) agentls: ${short(report.step)}${tokens}${more}`,
        tooltip: `${task?.title ?? "agentls: task running"}\n${report.step}${tokens}\nClick to cancel.`,
        command: CLIENT_COMMANDS.cancel,
        error: false,
      };
    }
    if (this.failure !== undefined) {
      return {
        text: "$(error) agentls: failed",
        tooltip: `agentls: the last task failed: ${this.failure}\nClick to show the log.`,
        command: CLIENT_COMMANDS.showLog,
        error: true,
      };
    }
    const last = this.lastSummary ? `\nLast task: ${this.lastSummary}` : "";
    return {
      text: "$(hubot) agentls",
      tooltip: `agentls: idle (${this.serverMessage})${last}\nClick to show the log.`,
      command: CLIENT_COMMANDS.showLog,
      error: false,
    };
  }
}

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;

  constructor(private readonly status: TaskStatus) {
    this.item = vscode.window.createStatusBarItem("agentls.status", vscode.StatusBarAlignment.Left, 50);
    this.item.name = "agentls";
    status.onChange(() => this.render());
    this.render();
    this.item.show();
  }

  private render(): void {
    const view = this.status.view();
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.command = view.command;
    this.item.backgroundColor = view.error ? new vscode.ThemeColor("statusBarItem.errorBackground") : undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}
