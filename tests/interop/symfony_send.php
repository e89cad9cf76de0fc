<?php
// Symfony Mailer (Debian's php-symfony-mailer) sending through `mailsend -bs` with its SendmailTransport,
// as an application does (issue 13). Usage: php symfony_send.php COMMAND OUT_DIR COUNT [TO...]
//   COMMAND   the sendmail command line, e.g. "/path/mailsend -bs --host 127.0.0.1:2525"
//   OUT_DIR   where each message as Symfony sent it is written (N.eml, from 1)
//   COUNT     how many messages to send through the one transport (one process)
//   TO...     the To recipients (default bob@example.org); Cc carol@ and Bcc dave@example.org always
// Prints "sent N" for each message; on an exception prints "exception: MESSAGE" and exits 1.
require_once '/usr/share/php/Symfony/Component/Mailer/autoload.php';
require_once '/usr/share/php/Symfony/Component/Mime/autoload.php';

use Symfony\Component\Mailer\Transport\SendmailTransport;
use Symfony\Component\Mime\Email;

[$self, $command, $out, $count] = array_slice($argv, 0, 4);
$to = array_slice($argv, 4) ?: ['bob@example.org'];
$transport = new SendmailTransport($command);
$body = "first line\n.starts with a dot\n.\n..two dots\nlast line";
try {
    for ($n = 1; $n <= (int) $count; $n++) {
        $email = (new Email())
            ->from('app@example.org')
            ->to(...$to)
            ->cc('carol@example.org')
            ->bcc('dave@example.org')
            ->subject("message $n")
            ->text(getenv('BODY') !== false ? getenv('BODY') : $body);
        $sent = $transport->send($email);
        file_put_contents("$out/$n.eml", $sent->toString());
        echo "sent $n\n";
    }
} catch (\Throwable $e) {
    echo 'exception: ' . $e->getMessage() . "\n";
    exit(1);
}
// The transport says QUIT when it is destroyed; the process must then exit 0.
unset($transport);
