import { describe, expect, it } from "vitest";
import * as vscode from "vscode";
import { selectDiagnostics } from "../src/diagnostics";
import { folders } from "./vscode-stub";

describe("the diagnostics answered to agentls/diagnostics", () => {
  const inside = vscode.Uri.file("/w/a.py");
  const outside = vscode.Uri.file("/home/u/.aws/credentials");
  const untitled = vscode.Uri.parse("untitled:Untitled-1");
  const diagnostic = {} as vscode.Diagnostic;
  const all: [vscode.Uri, vscode.Diagnostic[]][] = [
    [inside, [diagnostic]],
    [outside, [diagnostic]],
    [untitled, [diagnostic]],
  ];

  it("are those of files on disk inside the workspace folders only, asked for or not", () => {
    folders.length = 0;
    folders.push({ uri: vscode.Uri.file("/w"), name: "w", index: 0 });
    expect(selectDiagnostics(all, {}).map(([uri]) => uri.path)).toEqual(["/w/a.py"]);
    expect(selectDiagnostics(all, { uris: [outside.toString(), inside.toString()] }).map(([uri]) => uri.path)).toEqual(["/w/a.py"]);
  });
});
