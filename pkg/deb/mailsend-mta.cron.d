# mailsend-mta: the cron fallback for the queue runner. Where systemd runs, mailsend-queue.timer and
# mailsend-queue.path deliver the queue and this line does nothing.
SHELL=/bin/sh
PATH=/usr/sbin:/usr/bin:/sbin:/bin
*/5 * * * * mailsend [ -d /run/systemd/system ] || /usr/bin/mailsend -q 2>&1 | logger -t mailsend -p mail.info
