// What the auth domain asks of mail: a message, and a mailer that sends it in the background.

/** One mail, with a text and an HTML part. */
export interface MailMessage {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  /**
   * The one link of the mail, if any (a reset or verification link). Only the development log
   * transport reads it, to print it; SMTP sends the parts above.
   */
  readonly link?: string;
}

/** Sends mail off the request path: an HTTP answer never waits for, or changes with, a mail. */
export interface Mailer {
  /** False only in production without SMTP_URL: the mail routes then answer 501 not_configured. */
  readonly enabled: boolean;
  /** Queues the message and returns at once; never throws. A failed send is retried, then logged. */
  send(message: MailMessage): void;
  /** Resolves once every message queued so far has been sent or given up on (tests, shutdown). */
  idle(): Promise<void>;
  /** Waits for idle(), then closes the transport. */
  close(): Promise<void>;
}
