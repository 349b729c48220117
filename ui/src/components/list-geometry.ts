/** The message list's fixed geometry, shared by the list, its rows and tests. */
export const ROW_HEIGHT = 78;
/** Rows rendered above and below the viewport, so fast scrolling shows no gaps. */
export const OVERSCAN = 8;
/** Load the next page once the rendered window comes this close to the end. */
export const LOAD_AHEAD = 40;
/** Height of the "loading more" / "that's everything" line under the rows. */
export const FOOTER_HEIGHT = 44;
/** Used until the viewport has been measured (and in tests, which have no layout). */
export const FALLBACK_VIEWPORT_HEIGHT = 640;
