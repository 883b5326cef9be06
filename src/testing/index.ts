/**
 * tapbridge/testing: what test-harness authors import, beside the Bridge and
 * ports of the main entry ("tapbridge").
 *
 * - Lab, run: namespaces, veths, processes, removed even on failure/SIGINT
 * - topology: declarative shapes (star, line, ring, two switches with a trunk)
 * - wire, Wire: cables between in-memory ports, impaired per direction
 * - VirtualClock: time that moves only when the test says so
 * - parseNetem, checkImpairment: netem's vocabulary
 * - frame builders (ethernet, arp, ipv4, udp4, dhcpDiscover, …), decodeFrame,
 *   describeFrame, matches/matcher, capture (live tap), waitForFrame
 * - recordPcapng, PcapngWriter: pcapng files for tshark/Wireshark
 */
export { Lab, run, type RunResult } from "./lab.js";
export { VirtualClock } from "./virtual-clock.js";
export { wire, Wire, type WireDirection, type WireImpairments, type WireOptions } from "./wire.js";
export { topology, Topology, type TopologySpec, type TopologyHost, type TopologyLink, type Shape } from "./topology.js";
export { capture, matcher, matches, waitForFrame, type CapturedFrame, type CaptureOptions, type FrameMatch, type WaitOptions } from "./match.js";
export { decodeFrame, describeFrame, type DecodedFrame, type DecodedTag } from "./decode.js";
export { recordPcapng, PcapngWriter, type Recording, type RecordOptions } from "./pcapng.js";
export * from "./frames.js";
export { decodeBpdu, encodeBpdu, type Bpdu, type ConfigBpdu, type TcnBpdu } from "../stp/bpdu.js";
export { checkImpairment, parseNetem, type DelayDistribution, type DelaySpec, type GilbertElliott, type Impairment, type ImpairmentSpec, type RateSpec } from "../impair/spec.js";
export type { LinkStats } from "../impair/link.js";
export { realScheduler, type Scheduler, type Timer } from "../scheduler.js";
export { settleMemory, RUN_BUDGET } from "../ports/memory-fabric.js";
export type { MirroredFrame } from "../ports/mirror.js";
