/** tapbridge: a userspace learning Ethernet bridge for Linux. */
export { Bridge, type BridgeOptions, type FdbRecord, type FdbStats, type PortFdbStats, type PortStats, type PortVlans, type FdbChunkOptions, type FdbWalkResult } from "./bridge.js";
export type { BridgeEventMap, DropEvent, MacEvent, PortEvent, PortAddedEvent, PortLinkEvent, PortVlansEvent, FdbMoveEvent, MacFlapEvent, StormEvent } from "./bridge-events.js";
export { type MacFlapOptions, type FlapAction } from "./fdb-guard.js";
export { dumpStatus } from "./fdb-dump.js";
export { type VlanProtocol } from "./core/vlan.js";
export { type PortVlanSpec, type VlanMembership, parseVidList, formatVidList } from "./core/vlan-spec.js";
export { Port, type PortKind, type PortSettings } from "./ports/port.js";
export { MemoryPort, type MemoryPortOptions, type ReceivedFrame } from "./ports/memory-port.js";
export { TapPort, PacketPort, type TapPortOptions, type PacketPortOptions } from "./io/native-port.js";
export { TapbridgeError } from "./errors.js";
export { Fdb, type FdbEntry, type FullPolicy } from "./core/fdb.js";
export { DropReason, DROP_REASON_NAMES } from "./core/reasons.js";
export { PortState, type PortStateName } from "./core/port-table.js";
export { buildFrame, formatMac, parseMac, macFromBytes } from "./core/frame.js";
export { createLogger, type Logger } from "./log.js";
export { nativeAvailable } from "./io/native.js";
export { realScheduler, type Scheduler, type Timer } from "./scheduler.js";
