/**
 * Limits the UI shares with the Rust side. Keep each one equal to the Rust
 * constant it names: the UI states them to the user but never enforces them.
 */

/**
 * How many characters of a body Rust renders for the detail pane
 * (`herald_core::render::MAX_RENDERED_CHARS`). The database keeps the whole
 * body; `MessageDetail.body_truncated` says when the rest is not shown.
 */
export const RENDERED_BODY_CHARS = 200_000;
