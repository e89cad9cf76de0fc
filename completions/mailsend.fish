complete -c mailsend -s f -s r -l from -d 'Envelope sender; \'\' or \'<>\' is the null sender' -r -f
complete -c mailsend -s F -l full-name -d 'Full name used when a From header is generated' -r
complete -c mailsend -s B -l body-type -d 'Body type for MAIL FROM when the server offers 8BITMIME' -r -f -a "8BITMIME\t''
7BIT\t''"
complete -c mailsend -s N -l dsn-notify -d 'DSN: when to notify, for each RCPT (NEVER, or SUCCESS,FAILURE,DELAY)' -r
complete -c mailsend -s R -l dsn-ret -d 'DSN: what a notification returns (FULL or HDRS)' -r
complete -c mailsend -s V -l dsn-envid -d 'DSN: envelope identifier sent with MAIL FROM' -r
complete -c mailsend -s C -l config -d 'Configuration file (instead of ~/.config/mailsend/config.toml or /etc/mailsend.toml)' -r -F
complete -c mailsend -s a -l account -d 'Account from the configuration file' -r -f -a "(mailsend --list-accounts 2>/dev/null)"
complete -c mailsend -l host -d 'Server as HOST[:PORT] ([::1]:25 for IPv6); a path starting with / is a Unix socket' -r -f -a "(__fish_print_hostnames)"
complete -c mailsend -l port -d 'Server port [default: 25; 465 for implicit TLS; 24 for LMTP]' -r
complete -c mailsend -l socket -d 'Connect to this Unix domain socket (usual for LMTP)' -r -F
complete -c mailsend -l protocol -d 'Protocol: lmtp sends LHLO and reads one reply per recipient (RFC 2033) [default: smtp]' -r -f -a "smtp\t''
lmtp\t'RFC 2033'"
complete -c mailsend -l domain -d 'Name sent with EHLO/HELO/LHLO: one word, no spaces or control characters (else exit 64, before connecting) [default: this host\'s FQDN, else the [IP] literal of the connection\'s local address]' -r
complete -c mailsend -l source-address -d 'Bind the local end to IP[:PORT] before connecting' -r
complete -c mailsend -l timeout -d 'Bound in seconds on connecting and on every wait for the server [default: 60]' -r
complete -c mailsend -l tls -d 'TLS mode [default: auto]' -r -f -a "auto\t'Implicit TLS on port 465, none to loopback or a Unix socket (unless a pin, trust file or client certificate is given for it), else STARTTLS required'
off\t'No TLS'
starttls\t'STARTTLS required (RFC 3207)'
implicit\t'TLS from the first byte (RFC 8314)'"
complete -c mailsend -l tls-trust-file -d 'Trust the CA certificates in this PEM file instead of the system store' -r -F
complete -c mailsend -l tls-fingerprint -d 'Accept exactly the server certificate with this SHA-256 fingerprint (hex, colons optional)' -r
complete -c mailsend -l tls-cert-file -d 'Client certificate (PEM)' -r -F
complete -c mailsend -l tls-key-file -d 'Private key of the client certificate (PEM)' -r -F
complete -c mailsend -l tls-certcheck -d 'Verify the server certificate; off is insecure and says so in the trace [default: on]' -r -f -a "on\t''
off\t''"
complete -c mailsend -l tls-server-name -d 'Name for SNI and certificate verification, when it differs from the host connected to' -r -f -a "(__fish_print_hostnames)"
complete -c mailsend -l auth -d 'Authenticate: on (best advertised mechanism), off, or one mechanism name' -r
complete -c mailsend -l user -d 'User name for authentication' -r
complete -c mailsend -l password-command -d 'Shell command whose first output line is the password (run with stdin from /dev/null)' -r -f -a "(__fish_complete_command)"
complete -c mailsend -s d -l debug -d 'Protocol trace on standard error: 1 as smtplib prints it, 2 with timestamps; -d and -v mean 1' -r
complete -c mailsend -l debug-file -d 'Write the --debug trace to FILE (appended) instead of standard error' -r -F
complete -c mailsend -l generate -d 'Print the man page or a shell completion script' -r -f -a "man\t''
bash\t''
zsh\t''
fish\t''"
complete -c mailsend -l command -d 'After greeting, EHLO, TLS and AUTH, send this command and print its reply (repeatable)' -r
complete -c mailsend -l verify -d 'Send VRFY ADDR, as --command (repeatable)' -r
complete -c mailsend -l expn -d 'Send EXPN LIST, as --command (repeatable)' -r
complete -c mailsend -l quit-after -d 'Stop after this stage with a clean QUIT and send no message' -r -f -a "connect\t''
greeting\t''
ehlo\t''
starttls\t''
auth\t''
mail\t''
rcpt\t''"
complete -c mailsend -s X -l logfile -d 'Append one line per message to FILE (the `logfile` key; msmtp\'s -X)' -r -F
complete -c mailsend -l input -d 'Read the message from FILE instead of standard input' -r -F
complete -c mailsend -s q -d 'Deliver the queue now, ignoring the backoff (-qR..., -q30m are accepted; the interval is ignored)' -r
complete -c mailsend -l queue-delete -d 'Remove queue entry ID (held and failed ones too); only your own unless you are root' -r
complete -c mailsend -l queue-hold -d 'Hold queue entry ID: no delivery until --queue-release ID' -r
complete -c mailsend -l queue-release -d 'Release held queue entry ID: delivered by the next -q, the backoff forgotten' -r
complete -c mailsend -l subject -d 'Compose the message: its Subject (RFC 2047 encoded when not ASCII)' -r
complete -c mailsend -l body -d 'Compose the message: the text body from FILE, or standard input for \'-\'' -r -F
complete -c mailsend -l html -d 'Compose the message: an HTML alternative to the text body, from FILE' -r -F
complete -c mailsend -l attach -d 'Compose the message: attach FILE (repeatable); \'FILE;type=TYPE\' overrides the content type' -r -F
complete -c mailsend -l header -d 'Add the header field \'Name: value\' (repeatable); without another compose flag, set it in the message read' -r
complete -c mailsend -l to -d 'Compose the message: a To recipient, in the header and the envelope (repeatable)' -r
complete -c mailsend -l cc -d 'Compose the message: a Cc recipient, in the header and the envelope (repeatable)' -r
complete -c mailsend -l bcc -d 'Compose the message: a Bcc recipient, in the envelope only (repeatable)' -r
complete -c mailsend -s o -d 'Sendmail option (-oem, -odi, -oi, ...); ignored except -oi, -odq and -oAFILE (aliases file)' -r
complete -c mailsend -s b -d 'Mode: -bm (deliver), -bp (list the queue), -bs (SMTP on stdin/stdout) or -bi (check the aliases file)' -r
complete -c mailsend -s A -d 'Sendmail -A (alternate configuration); ignored' -r
complete -c mailsend -s h -d 'Sendmail -h (hop count); ignored' -r
complete -c mailsend -s L -d 'Sendmail -L (syslog tag); ignored' -r
complete -c mailsend -s O -d 'Sendmail -O (option=value); ignored' -r
complete -c mailsend -s t -l read-recipients -d 'Also send to the To, Cc and Bcc addresses of the message (Resent-* when present)'
complete -c mailsend -s i -l ignore-dots -d 'Accepted for compatibility (also as -oi); input always ends at end of file'
complete -c mailsend -l allow-plaintext-auth -d 'Permit authentication on a connection without TLS'
complete -c mailsend -l pretend -d 'Print the resolved settings, envelope and message as they would be sent; connect to nothing'
complete -c mailsend -l serverinfo -d 'Connect, greet and EHLO, then print the server\'s greeting, capabilities and TLS details'
complete -c mailsend -l list-accounts -d 'Print the account names of the configuration file, one a line (for shell completion)'
complete -c mailsend -l no-initial-response -d 'Send AUTH without the RFC 4954 initial response'
complete -c mailsend -l interactive -d 'Type commands on the established connection and see the replies (on a terminal)'
complete -c mailsend -l read-envelope-from -d 'Accepted for msmtp compatibility; changes nothing'
complete -c mailsend -l json -d 'With -bp (or as mailq): one JSON object per entry and line, with postqueue -j\'s fields'
complete -c mailsend -l queue-check -d 'For monitoring: exit 75 with one line per entry that is held or older than queue_warn, else 0'
complete -c mailsend -l queue-on-failure -d 'Queue the message when a temporary failure stops its delivery (queue = "on-failure")'
complete -c mailsend -l no-queue -d 'Never queue: a temporary failure is exit 75 (queue = "never")'
complete -c mailsend -s v -d 'Same as --debug 1'
complete -c mailsend -s G -d 'Sendmail -G (gateway submission); ignored'
complete -c mailsend -s m -d 'Sendmail -m (me too); ignored'
complete -c mailsend -s n -d 'Sendmail -n (no aliasing); ignored'
complete -c mailsend -s U -d 'Sendmail -U (initial user submission); ignored'
complete -c mailsend -l help -d 'Print help'
complete -c mailsend -l version -d 'Print version'
