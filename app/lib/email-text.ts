/**
 * Emails in text, for the two places that must recognise them the same way: the capture route, which decides
 * what a shopper's email may hold, and the scrubbers that keep emails out of logs and alert messages.
 */

/** What a local part's atoms may hold (RFC 5322's atext); dots separate the atoms. */
export const EMAIL_ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~-";

/**
 * Anything in free text that could be an email the app accepted, matched whole so masking leaves none of it:
 * every character a stored local part may hold, and a domain ending in a letter top-level domain. For
 * `String.replace`, which starts a global pattern from the beginning each time.
 */
export const EMAIL_IN_TEXT = new RegExp(`[.${EMAIL_ATEXT}]+@[^\\s@<>()\\[\\]"',;:]+\\.[A-Za-z]{2,}`, "g");
