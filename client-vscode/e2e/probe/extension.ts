/** The end-to-end tests' eyes and hands inside VS Code's extension host: an HTTP server on
 * 127.0.0.1 (its port written to $AGENTLS_E2E_PROBE_FILE) that answers `POST /` with
 * `{method, params}` by calling the real VS Code API. What the user does (typing, clicking
 * the lightbulb, the dialogs) the tests do through the page; this reads state, opens
 * files, places the cursor, and plays "another extension" that publishes diagnostics. */

import * as fs from "node:fs";
import * as http from "node:http";
import * as vscode from "vscode";

type Params = Record<string, unknown>;

const lint = vscode.languages.createDiagnosticCollection("e2e-lint");

function folder(): vscode.Uri {
  const first = vscode.workspace.workspaceFolders?.[0];
  if (first === undefined) {
    throw new Error("no workspace folder");
  }
  return first.uri;
}

function uriOf(params: Params): vscode.Uri {
  return vscode.Uri.joinPath(folder(), String(params["path"]));
}

async function editorOf(params: Params): Promise<vscode.TextEditor> {
  const document = await vscode.workspace.openTextDocument(uriOf(params));
  return vscode.window.showTextDocument(document, { preview: false });
}

function position(line: unknown, character: unknown): vscode.Position {
  return new vscode.Position(Number(line ?? 0), Number(character ?? 0));
}

const methods: Record<string, (params: Params) => unknown> = {
  async open(params) {
    const editor = await editorOf(params);
    return editor.document.uri.toString();
  },
  async text(params) {
    const uri = uriOf(params);
    const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    return open ? open.getText() : (await vscode.workspace.fs.readFile(uri)).toString();
  },
  async select(params) {
    const editor = await editorOf(params);
    const start = position(params["line"], params["character"]);
    const end = position(params["endLine"] ?? params["line"], params["endCharacter"] ?? params["character"]);
    editor.selection = new vscode.Selection(start, end);
    editor.revealRange(new vscode.Range(start, end), vscode.TextEditorRevealType.InCenter);
    return true;
  },
  setDiagnostics(params) {
    const items = params["items"] as { line: number; message: string; source?: string }[];
    lint.set(
      uriOf(params),
      items.map((item) => {
        const range = new vscode.Range(item.line, 0, item.line, 200);
        const diagnostic = new vscode.Diagnostic(range, item.message, vscode.DiagnosticSeverity.Error);
        diagnostic.source = item.source ?? "e2e-lint";
        return diagnostic;
      }),
    );
    return true;
  },
  diagnostics(params) {
    return vscode.languages.getDiagnostics(uriOf(params)).map((d) => ({
      line: d.range.start.line,
      message: d.message,
      source: d.source,
    }));
  },
  async command(params) {
    const args = (params["args"] as unknown[] | undefined) ?? [];
    const result: unknown = await vscode.commands.executeCommand(String(params["id"]), ...args);
    return result ?? null;
  },
  async save(params) {
    const document = await vscode.workspace.openTextDocument(uriOf(params));
    return document.save();
  },
  documents() {
    return vscode.workspace.textDocuments.map((d) => ({ uri: d.uri.toString(), text: d.getText(), isDirty: d.isDirty }));
  },
  tabs() {
    return vscode.window.tabGroups.all.map((group) => group.tabs.map((tab) => tab.label));
  },
  /** Sets an agentls user setting (as the user would in the Settings editor). */
  async configure(params) {
    const config = vscode.workspace.getConfiguration("agentls");
    await config.update(String(params["key"]), params["value"] ?? undefined, vscode.ConfigurationTarget.Global);
    return true;
  },
  state() {
    const agentls = vscode.extensions.getExtension("agentls.agentls");
    const config = vscode.workspace.getConfiguration("agentls", folder());
    const keys = ["interpreter", "serverArgs", "model.baseUrl", "model.apiKeyEnv", "agent.approval"];
    return {
      installed: agentls !== undefined,
      active: agentls?.isActive ?? false,
      trusted: vscode.workspace.isTrusted,
      uiKind: vscode.env.uiKind === vscode.UIKind.Web ? "web" : "desktop",
      settings: Object.fromEntries(keys.map((key) => [key, { value: config.get(key), ...config.inspect(key) }])),
      visibleEditors: vscode.window.visibleTextEditors.map((e) => e.document.uri.toString()),
      activeEditor: vscode.window.activeTextEditor?.document.uri.toString() ?? null,
    };
  },
};

function reply(response: http.ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "Content-Type": "application/json" });
  response.end(JSON.stringify(body));
}

export function activate(context: vscode.ExtensionContext): void {
  const server = http.createServer((request, response) => {
    let raw = "";
    request.on("data", (chunk: Buffer) => (raw += chunk.toString()));
    request.on("end", () => {
      void (async () => {
        try {
          const { method, params } = JSON.parse(raw) as { method: string; params?: Params };
          const run = methods[method];
          if (run === undefined) {
            return reply(response, 404, { error: `no method ${method}` });
          }
          reply(response, 200, { result: (await run(params ?? {})) ?? null });
        } catch (error) {
          reply(response, 500, { error: error instanceof Error ? error.message : String(error) });
        }
      })();
    });
  });
  server.listen(0, "127.0.0.1", () => {
    const address = server.address();
    const file = process.env["AGENTLS_E2E_PROBE_FILE"];
    if (file && typeof address === "object" && address !== null) {
      fs.writeFileSync(file, String(address.port));
    }
  });
  context.subscriptions.push(lint, { dispose: () => server.close() });
}
