/** tapbridge: a userspace learning Ethernet bridge for Linux. */
export { Bridge, type BridgeOptions, type FdbRecord, type PortStats } from "./bridge.js";
export { Port, type PortKind, type PortSettings } from "./port.js";
export { MemoryPort, type MemoryPortOptions, type ReceivedFrame } from "./memory-port.js";
export { TapPort, PacketPort, type TapPortOptions, type PacketPortOptions } from "./io/native-port.js";
export { TapbridgeError } from "./errors.js";
export { Fdb, type FdbEntry } from "./fdb.js";
export { DropReason, DROP_REASON_NAMES } from "./reasons.js";
export { PortState, type PortStateName } from "./port-table.js";
export { buildFrame, formatMac, parseMac, macFromBytes } from "./frame.js";
export { createLogger, type Logger } from "./log.js";
export { nativeAvailable } from "./io/native.js";
