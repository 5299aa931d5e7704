;;; eglot_driver.el --- drive agentls from Emacs 28 + eglot 1.9 in batch mode -*- lexical-binding: t -*-

;; emacs --batch -Q -l eglot_driver.el, with $AGENTLS_DRIVER_CONFIG naming a JSON
;; config (see tests/editors/harness.py).  Opens the file, connects eglot to
;; agentls, asks for code actions on the instruction comment, executes the
;; "Agent: ..." action's command with `eglot-execute-command' (a blocking
;; jsonrpc-request: eglot's own applyEdit handler applies the streamed edits
;; meanwhile), optionally types elsewhere while it runs and runs agentls.undo,
;; then writes what it saw as JSON to config.output and exits (0 ok, 1 error).
;;
;; Batch mode has no idle time, so eglot's didChange idle timer would never fire.
;; Two stand-ins, both calling eglot's own code:
;; - always: `run-with-idle-timer' inside `eglot--after-change' becomes a plain
;;   timer with the same delay (0.5 s), which fires while jsonrpc-request waits;
;; - config.flush_did_change: an :after advice on `eglot--apply-text-edits' sends
;;   didChange as soon as an edit is applied.

(require 'cl-lib)
(require 'json)
(require 'subr-x)

(defvar drv-config nil "The JSON config, as a plist.")
(defvar drv-out (make-hash-table :test #'equal) "What the driver saw.")
(defvar drv-log-lines nil "Log lines, newest first.")
(defvar drv-t0 (float-time))
(defvar drv-server nil)
(defvar drv-buffer nil)

(defun drv-ms () (round (* 1000 (- (float-time) drv-t0))))

(defun drv-log (fmt &rest args)
  (push (format "[%6d ms] %s" (drv-ms) (apply #'format fmt args)) drv-log-lines))

(defun drv-set (key value) (puthash key value drv-out))

(defun drv-cfg (key) (plist-get drv-config key))

(defun drv-write-file (path text)
  (let ((coding-system-for-write 'utf-8-unix))
    (with-temp-file path
      (set-buffer-multibyte t)
      (insert text))))

(defun drv-buffer-text ()
  (with-current-buffer drv-buffer
    (save-restriction
      (widen)
      (buffer-substring-no-properties (point-min) (point-max)))))

(defun drv-flush-files ()
  (let ((json-encoding-pretty-print nil))
    (drv-write-file (drv-cfg :output) (json-encode drv-out)))
  (drv-write-file (drv-cfg :log)
                  (concat (string-join (reverse drv-log-lines) "\n") "\n")))

;;; eglot from Debian's elpa directories (-Q skips site-start)

(dolist (dir (reverse (file-expand-wildcards "/usr/share/emacs/site-lisp/elpa/*")))
  (when (file-directory-p dir)
    (add-to-list 'load-path dir)))
(require 'eglot)

(setq eglot-confirm-server-initiated-edits nil
      eglot-sync-connect t
      eglot-connect-timeout 30
      eglot-autoreconnect nil
      eglot-events-buffer-size 4000000
      jsonrpc-default-request-timeout 60
      inhibit-message nil)
(prefer-coding-system 'utf-8-unix)

(defun drv--after-change-with-plain-timer (orig &rest args)
  "Run eglot's after-change hook with its idle timer turned into a plain timer."
  (cl-letf (((symbol-function 'run-with-idle-timer) #'run-with-timer))
    (apply orig args)))
(when noninteractive
  (advice-add 'eglot--after-change :around #'drv--after-change-with-plain-timer))

(defun drv--flush-did-change (&rest _)
  "Send the pending didChange now (eglot would on its idle timer)."
  (when eglot--managed-mode
    (eglot--signal-textDocument/didChange)))

;;; typing elsewhere while the command runs

(defvar drv-steps nil "Typing steps not done yet.")
(defvar drv-step-count 0)
(defvar drv-step-pending nil)
(defvar drv-self-typing nil)
(defvar drv-snapshots nil)

(defun drv-type-step ()
  (setq drv-step-pending nil)
  (when drv-steps
    (let* ((step (pop drv-steps))
           (op (plist-get step :op))
           (text (plist-get step :text))
           (err nil))
      (with-current-buffer drv-buffer
        (let ((drv-self-typing t))
          (condition-case e
              (save-excursion
                (widen)
                (cond ((equal op "insert_top")
                       (goto-char (point-min))
                       (insert text "\n"))
                      ((equal op "append_last")
                       (goto-char (point-max))
                       (skip-chars-backward "\n")
                       (insert text))
                      (t (error "Unknown typing op %s" op))))
            (error (setq err (error-message-string e))))))
      (cl-incf drv-step-count)
      (let ((snap (make-hash-table :test #'equal)))
        (puthash "at_ms" (drv-ms) snap)
        (puthash "op" op snap)
        (puthash "text" (drv-buffer-text) snap)
        (puthash "error" err snap)
        (push snap drv-snapshots))
      (drv-log "typed step %d (%s): %s" drv-step-count op (or err "ok")))))

(defun drv-after-change (&rest _)
  "A change not typed by us is a server edit: type the next step shortly after."
  (when (and drv-steps (not drv-self-typing) (not drv-step-pending))
    (setq drv-step-pending t)
    (run-at-time (/ (or (drv-cfg :typing_delay_ms) 20) 1000.0) nil #'drv-type-step)))

;;; the flow

(defun drv-execute (command arguments)
  "Execute COMMAND the way eglot does for a code action; return the result.
Only the request timeout differs: eglot's default (10 s) becomes the config's."
  (let ((jsonrpc-default-request-timeout (/ (drv-cfg :command_timeout_ms) 1000.0)))
    (eglot-execute-command drv-server (intern command) arguments)))

(defun drv-main ()
  (setq drv-config
        (let ((json-object-type 'plist)
              (json-array-type 'list)
              (json-key-type 'keyword)
              (json-false nil))
          (json-read-file (or (getenv "AGENTLS_DRIVER_CONFIG")
                              (error "AGENTLS_DRIVER_CONFIG is not set")))))
  (drv-log "emacs %s, eglot from %s" emacs-version (locate-library "eglot"))
  (when (drv-cfg :flush_did_change)
    (advice-add 'eglot--apply-text-edits :after #'drv--flush-did-change))

  (setq drv-buffer (find-file-noselect (drv-cfg :file)))
  (set-buffer drv-buffer)
  (drv-set "original" (drv-buffer-text))
  (drv-log "opened %s in %s" (buffer-file-name) major-mode)

  (let* ((contact (append (drv-cfg :server_cmd)
                          (list :initializationOptions (drv-cfg :init_options)))))
    (setq drv-server (eglot '(python-mode) (eglot--current-project)
                            'eglot-lsp-server contact "python")))
  (unless (and drv-server (jsonrpc-running-p drv-server))
    (error "eglot did not connect"))
  (unless eglot--managed-mode
    (error "the buffer is not managed by eglot"))
  (drv-log "connected: %s" (jsonrpc-name drv-server))

  ;; Code actions at the end of the instruction comment's line.
  (goto-char (point-min))
  (unless (search-forward (drv-cfg :marker) nil t)
    (error "No line holds %s" (drv-cfg :marker)))
  (end-of-line)
  (let* ((actions (eglot-code-actions (point) (point)))
         (action (cl-find-if (lambda (a)
                               (and (string-prefix-p "Agent: " (plist-get a :title))
                                    (plist-get a :command)))
                             actions)))
    (drv-set "actions" (vconcat actions))
    (unless action
      (error "No \"Agent: ...\" code action among %S" actions))
    (drv-set "action" action)
    (drv-log "action: %s" (plist-get action :title))

    (setq drv-steps (drv-cfg :typing))
    (add-hook 'after-change-functions #'drv-after-change nil t)
    (let* ((command (plist-get action :command))
           (result (progn
                     (drv-log "executing %s" (plist-get command :command))
                     (drv-execute (plist-get command :command)
                                  (plist-get command :arguments)))))
      (drv-set "result_ms" (drv-ms))
      (setq drv-steps nil)
      (drv-set "result" result)
      (drv-set "text" (drv-buffer-text))
      (drv-set "typed_steps" drv-step-count)
      (drv-set "snapshots" (vconcat (reverse drv-snapshots)))
      (drv-log "result: %S" result)

      (when (drv-cfg :undo)
        (let ((undo (drv-execute "agentls.undo"
                                 (vector (list :taskId (plist-get result :taskId))))))
          (drv-set "undo_result" undo)
          (drv-set "text_after_undo" (drv-buffer-text))
          (drv-log "undo: %S" undo)))))

  (drv-set "ok" t))

(defun drv-run ()
  "Run the flow, write the output, exit."
  (interactive)
  (let ((ok nil))
    (condition-case err
        (progn (drv-main) (setq ok t))
      (error
       (drv-set "error" (format "%s: %S" (error-message-string err) err))
       (drv-log "ERROR: %S" err)))
    (condition-case err
        (progn
          (drv-set "messages" (with-current-buffer (messages-buffer)
                                (buffer-substring-no-properties (point-min) (point-max))))
          (when (and drv-server (drv-cfg :events_log))
            (let ((events (jsonrpc-events-buffer drv-server)))
              (when (buffer-live-p events)
                (drv-write-file (drv-cfg :events_log)
                                (with-current-buffer events
                                  (buffer-substring-no-properties
                                   (point-min) (point-max))))))))
      (error (drv-log "collecting logs failed: %S" err)))
    (when drv-server
      (with-timeout (5 (drv-log "eglot-shutdown timed out"))
        (condition-case err
            (eglot-shutdown drv-server nil 3)
          (error (drv-log "eglot-shutdown: %S" err)))))
    (drv-flush-files)
    (kill-emacs (if ok 0 1))))

;; In batch mode, run now.  Interactively (a terminal Emacs), run the flow as a
;; command, the way a user runs a code action: Emacs is not idle while it runs.
(if noninteractive
    (drv-run)
  (global-set-key [f5] #'drv-run)
  (run-at-time 0.2 nil (lambda () (setq unread-command-events (list 'f5)))))

;;; eglot_driver.el ends here
