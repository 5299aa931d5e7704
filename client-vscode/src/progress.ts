/** The server's `$/progress` as VS Code progress, in place of vscode-languageclient's own
 * (which shows it in the status bar, where there is no cancel button). A task's progress
 * is a notification with a Cancel button that sends `window/workDoneProgress/cancel`;
 * the indexing progress stays a quiet status bar spinner. Task reports also feed the
 * status bar item (step and tokens). */

import * as vscode from "vscode";
import type { FeatureState, StaticFeature } from "vscode-languageclient";
import {
  type ClientCapabilities,
  type ProgressToken,
  type WorkDoneProgressBegin,
  type WorkDoneProgressReport,
  WorkDoneProgress,
  WorkDoneProgressCancelNotification,
  WorkDoneProgressCreateRequest,
} from "vscode-languageserver-protocol";
import type { TaskStatus } from "./status";

/** The title of the server's indexing progress (server/agentls/lsp/workspace_context.py). */
export const INDEXING_TITLE = "agentls: indexing the workspace";

/** What the feature needs of the language client. */
export interface ProgressClient {
  onRequest(type: typeof WorkDoneProgressCreateRequest.type, handler: (params: { token: ProgressToken }) => void): vscode.Disposable;
  onProgress(
    type: typeof WorkDoneProgress.type,
    token: ProgressToken,
    handler: (value: WorkDoneProgressBegin | WorkDoneProgressReport | { kind: "end"; message?: string }) => void,
  ): vscode.Disposable;
  sendNotification(type: typeof WorkDoneProgressCancelNotification.type, params: { token: ProgressToken }): Promise<void>;
}

export function isTaskProgress(begin: WorkDoneProgressBegin): boolean {
  return begin.title !== INDEXING_TITLE;
}

export function progressLocation(begin: WorkDoneProgressBegin): vscode.ProgressLocation {
  return isTaskProgress(begin) && begin.cancellable === true
    ? vscode.ProgressLocation.Notification
    : vscode.ProgressLocation.Window;
}

class ProgressPart {
  private readonly listener: vscode.Disposable;
  private progress: vscode.Progress<{ message?: string }> | undefined;
  private finish: (() => void) | undefined;
  private cancelListener: vscode.Disposable | undefined;
  private task = false;
  private done = false;

  constructor(
    private readonly client: ProgressClient,
    private readonly token: ProgressToken,
    private readonly status: TaskStatus,
    private readonly onDone: (part: ProgressPart) => void,
  ) {
    this.listener = client.onProgress(WorkDoneProgress.type, token, (value) => {
      if (value.kind === "begin") {
        this.begin(value);
      } else if (value.kind === "report") {
        this.report(value.message);
      } else {
        this.end();
      }
    });
  }

  private begin(params: WorkDoneProgressBegin): void {
    this.task = isTaskProgress(params);
    if (this.task) {
      this.status.progressBegin(String(this.token), params.title);
    }
    void vscode.window.withProgress(
      { location: progressLocation(params), title: params.title, cancellable: params.cancellable === true },
      (progress, cancellation) => {
        if (this.done) {
          return Promise.resolve();
        }
        this.progress = progress;
        this.cancelListener = cancellation.onCancellationRequested(() => {
          void this.client.sendNotification(WorkDoneProgressCancelNotification.type, { token: this.token });
        });
        this.report(params.message);
        return new Promise<void>((resolve) => {
          this.finish = resolve;
        });
      },
    );
  }

  private report(message: string | undefined): void {
    if (message === undefined) {
      return;
    }
    this.progress?.report({ message });
    if (this.task) {
      this.status.progressReport(String(this.token), message);
    }
  }

  end(): void {
    if (this.done) {
      return;
    }
    this.done = true;
    this.listener.dispose();
    this.cancelListener?.dispose();
    this.finish?.();
    if (this.task) {
      this.status.progressEnd(String(this.token));
    }
    this.onDone(this);
  }
}

export class TaskProgressFeature implements StaticFeature {
  private readonly parts = new Set<ProgressPart>();
  private registration: vscode.Disposable | undefined;

  constructor(
    private readonly client: ProgressClient,
    private readonly status: TaskStatus,
  ) {}

  fillClientCapabilities(capabilities: ClientCapabilities): void {
    capabilities.window = { ...capabilities.window, workDoneProgress: true };
  }

  initialize(): void {
    this.registration?.dispose();
    this.registration = this.client.onRequest(WorkDoneProgressCreateRequest.type, ({ token }) => {
      this.parts.add(new ProgressPart(this.client, token, this.status, (part) => this.parts.delete(part)));
    });
  }

  getState(): FeatureState {
    return { kind: "static" };
  }

  clear(): void {
    for (const part of [...this.parts]) {
      part.end();
    }
    this.parts.clear();
  }
}

/** True for vscode-languageclient's own progress feature, which this one replaces. */
export function isBuiltinProgressFeature(feature: { getState(): FeatureState }): boolean {
  if (feature instanceof TaskProgressFeature) {
    return false;
  }
  const state = feature.getState();
  return state.kind === "window" && state.id === WorkDoneProgressCreateRequest.method;
}
