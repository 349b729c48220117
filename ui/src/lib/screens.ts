/** The window's screens: the inbox, the sources admin, and the settings. */
export type Screen = "inbox" | "sources" | "settings";
