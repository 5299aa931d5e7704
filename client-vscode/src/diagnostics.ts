/** `agentls/diagnostics`: the server asks what VS Code shows (every extension's
 * diagnostics, not only those sent with code action requests), for the agent's
 * `get_diagnostics` tool and its verification after edits. The client says it answers
 * with the experimental capability `agentlsDiagnostics` (server/agentls/lsp/diagnostics.py). */

import * as vscode from "vscode";
import type { FeatureState, StaticFeature } from "vscode-languageclient";
import type { ClientCapabilities, Diagnostic as LspDiagnostic } from "vscode-languageserver-protocol";

export const DIAGNOSTICS_REQUEST = "agentls/diagnostics";
export const DIAGNOSTICS_CAPABILITY = "agentlsDiagnostics";

export interface DiagnosticsParams {
  /** The files asked about; omitted: every file with diagnostics. */
  uris?: string[];
}

export interface FileDiagnostics {
  uri: string;
  diagnostics: LspDiagnostic[];
  /** Milliseconds since this file's diagnostics last changed. */
  ageMs: number;
}

/** What the feature needs of the language client. */
export interface DiagnosticsClient {
  onRequest(method: string, handler: (params: DiagnosticsParams) => Promise<{ files: FileDiagnostics[] }>): vscode.Disposable;
  readonly code2ProtocolConverter: { asDiagnostics(diagnostics: vscode.Diagnostic[]): Promise<LspDiagnostic[]> };
}

/** When each file's diagnostics last changed (from activation on). */
export class DiagnosticTimes implements vscode.Disposable {
  private readonly changed = new Map<string, number>();
  private readonly since = Date.now();
  private readonly listener: vscode.Disposable;

  constructor(private readonly now: () => number = Date.now) {
    this.listener = vscode.languages.onDidChangeDiagnostics((event) => {
      for (const uri of event.uris) {
        this.changed.set(uri.toString(), this.now());
      }
    });
  }

  ageMs(uri: string): number {
    return Math.max(0, this.now() - (this.changed.get(uri) ?? this.since));
  }

  dispose(): void {
    this.listener.dispose();
  }
}

/** The files and diagnostics to answer with: only files on disk (`file:`) inside the
 * workspace folders (`inWorkspace`: the agent reads nothing outside them, and a linter's
 * message can quote a line of any file VS Code has open, `~/.aws/credentials` or a
 * dotfile elsewhere), only those asked. */
export function selectDiagnostics(
  all: readonly [vscode.Uri, readonly vscode.Diagnostic[]][],
  params: DiagnosticsParams | null | undefined,
  inWorkspace: (uri: vscode.Uri) => boolean = (uri) => vscode.workspace.getWorkspaceFolder(uri) !== undefined,
): [vscode.Uri, vscode.Diagnostic[]][] {
  const wanted = params?.uris === undefined ? undefined : new Set(params.uris.map((u) => vscode.Uri.parse(u).toString()));
  const chosen: [vscode.Uri, vscode.Diagnostic[]][] = [];
  for (const [uri, diagnostics] of all) {
    if (uri.scheme !== "file" || !inWorkspace(uri) || (wanted !== undefined && !wanted.has(uri.toString()))) {
      continue;
    }
    if (diagnostics.length > 0 || wanted !== undefined) {
      chosen.push([uri, [...diagnostics]]);
    }
  }
  return chosen;
}

export class DiagnosticsFeature implements StaticFeature {
  private registration: vscode.Disposable | undefined;

  constructor(
    private readonly client: DiagnosticsClient,
    private readonly times: DiagnosticTimes,
  ) {}

  fillClientCapabilities(capabilities: ClientCapabilities): void {
    capabilities.experimental = { ...(capabilities.experimental as object | undefined), [DIAGNOSTICS_CAPABILITY]: true };
  }

  initialize(): void {
    this.registration?.dispose();
    this.registration = this.client.onRequest(DIAGNOSTICS_REQUEST, async (params) => {
      const chosen = selectDiagnostics(vscode.languages.getDiagnostics(), params);
      const files = await Promise.all(
        chosen.map(async ([uri, diagnostics]) => ({
          uri: uri.toString(),
          diagnostics: await this.client.code2ProtocolConverter.asDiagnostics(diagnostics),
          ageMs: this.times.ageMs(uri.toString()),
        })),
      );
      return { files };
    });
  }

  getState(): FeatureState {
    return { kind: "static" };
  }

  clear(): void {
    this.registration?.dispose();
    this.registration = undefined;
  }
}
