/** Where the daemon's files live by default (a module of its own, so the CLI loads nothing else to find them). */
export const DEFAULT_SOCKET = "/run/tapbridge/tapbridge.sock";
export const DEFAULT_CONFIG = "/etc/tapbridge/tapbridge.yaml";
