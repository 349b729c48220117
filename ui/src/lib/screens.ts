/** The window's screens: the inbox, the sources admin, the routing rules, and the settings. */
export type Screen = "inbox" | "sources" | "rules" | "settings";
