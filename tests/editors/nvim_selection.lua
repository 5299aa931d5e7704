-- Neovim 0.7 driver: "Agent: edit selection…" is not offered to Neovim (it cannot prompt
-- for the instruction); the action offered instead puts an empty "# agent: " comment
-- above the selection; the user writes the instruction there, and the comment's own
-- action "Agent: <text>" appears. Config (JSON, $AGENTLS_DRIVER_CONFIG): file, root,
-- server_cmd, instruction, output. Writes {ok, titles, text, comment_titles, error}.

local cfg
local out = { ok = false }

local function titles_of(actions)
  local titles = {}
  for _, action in ipairs(actions or {}) do
    table.insert(titles, action.title)
  end
  return titles
end

local function code_actions(client, bufnr, first, last, last_char)
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    range = { start = { line = first, character = 0 }, ['end'] = { line = last, character = last_char } },
    context = { diagnostics = {} },
  }
  local response = client.request_sync('textDocument/codeAction', params, 10000, bufnr)
  assert(response and not response.err, 'codeAction failed: ' .. vim.inspect(response))
  return response.result or {}
end

local function main()
  cfg = vim.fn.json_decode(table.concat(vim.fn.readfile(os.getenv('AGENTLS_DRIVER_CONFIG')), '\n'))
  vim.cmd('edit ' .. vim.fn.fnameescape(cfg.file))
  local bufnr = vim.api.nvim_get_current_buf()
  local client_id = vim.lsp.start_client({
    name = 'agentls',
    cmd = cfg.server_cmd,
    root_dir = cfg.root,
    capabilities = vim.lsp.protocol.make_client_capabilities(),
    flags = { debounce_text_changes = 0 },
  })
  local client = vim.lsp.get_client_by_id(client_id)
  assert(vim.lsp.buf_attach_client(bufnr, client_id), 'buf_attach_client failed')
  assert(vim.wait(20000, function() return client.initialized == true end, 10), 'no initialize')

  -- The user selects lines 2-3 (the method) and asks for code actions.
  local actions = code_actions(client, bufnr, 1, 2, 10)
  out.titles = titles_of(actions)
  local chosen
  for _, action in ipairs(actions) do
    if action.title == 'Agent: write an instruction for the selection' then
      chosen = action
    end
  end
  assert(chosen, 'no instruction action among ' .. vim.inspect(out.titles))
  -- What vim.lsp.buf.code_action does with an action that carries an edit.
  vim.lsp.util.apply_workspace_edit(chosen.edit, client.offset_encoding)
  -- The user writes the instruction after "# agent: " (on the new line 2).
  local line = vim.api.nvim_buf_get_lines(bufnr, 1, 2, true)[1]
  vim.api.nvim_buf_set_lines(bufnr, 1, 2, true, { line .. cfg.instruction })
  out.text = table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, true), '\n')
  vim.wait(300, function() return false end, 10) -- didChange goes out
  out.comment_titles = titles_of(code_actions(client, bufnr, 1, 1, 0))
  client.stop()
  out.ok = true
end

local ok, err = pcall(main)
if not ok then
  out.error = tostring(err)
end
vim.fn.writefile({ vim.fn.json_encode(out) }, cfg and cfg.output or '/dev/null')
vim.cmd(out.ok and 'qall!' or 'cquit! 1')
