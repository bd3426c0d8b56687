// Starts `m lsp` (or the command in the setting mlang.server.command) for .m files.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const [command, ...args] = vscode.workspace.getConfiguration("mlang").get("server.command", ["m", "lsp"]);
  client = new LanguageClient(
    "mlang", "M language server",
    { command, args },
    { documentSelector: [{ scheme: "file", language: "m" }] }
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
