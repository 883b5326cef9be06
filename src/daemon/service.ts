/**
 * The daemon process: read the config (or start as an empty switch), apply
 * it, open the control socket and the metrics endpoint, and serve until
 * SIGTERM/SIGINT. SIGHUP and the `reload` request re-read the file and apply
 * the difference; an invalid file changes nothing and says why.
 *
 * Restart without disruption: TAP ports marked persistent outlive the
 * process (TUNSETPERSIST), whether it stops or is killed, with their
 * namespace-side addresses and routes; the next start opens the same
 * devices and traffic resumes.
 *
 * Networks (networks/manager.ts) come after the bridges they use: at start,
 * what a crashed daemon left is undone first, then the bridges are
 * applied, then the networks start; at shutdown they stop before the
 * bridges close. A reload checks every network it would start before it
 * changes anything, stops the networks that go or change, applies the
 * bridges, and starts the networks that come.
 */
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Server } from "node:http";
import { TapbridgeError } from "../errors.js";
import { loadNative } from "../io/native.js";
import type { Logger } from "../log.js";
import { ConfigError, ConfigSource, parseConfig, type DaemonConfig } from "./config.js";
import { configToYaml } from "./config-save.js";
import { answers, ControlSocket } from "./control-socket.js";
import { NetworkManager } from "./networks/manager.js";
import { DEFAULT_SOCKET } from "./paths.js";
import { AutoAttach } from "./auto-attach.js";
import { Daemon, LocatedError } from "./daemon.js";
import { LinkMonitor } from "../io/link-monitor.js";
import { groupId } from "./users.js";

export interface ServiceOptions {
  /** Config file; none = an empty switch filled through the control socket. */
  configFile?: string;
  /** Overrides the config's control.socket. */
  socket?: string;
  /** Where networks keep their state file and dnsmasq's files (default: the control socket's directory, /run/tapbridge). */
  runtimeDir?: string;
  logger: Logger;
  version: string;
}

export class Service {
  readonly daemon: Daemon;
  private control: ControlSocket | undefined;
  private metrics: Server | undefined;
  private config: DaemonConfig = { bridges: [] };
  private readonly started = Date.now();
  private readonly autoAttach: AutoAttach;
  private networksManager: NetworkManager | undefined;
  socketPath = DEFAULT_SOCKET;

  constructor(private readonly options: ServiceOptions) {
    this.daemon = new Daemon({ logger: options.logger });
    this.autoAttach = new AutoAttach(this.daemon, () => LinkMonitor.shared(), options.logger);
  }

  private get log(): Logger {
    return this.options.logger;
  }

  /** Read and validate the config file (throws ConfigError with located problems). */
  private read(): { config: DaemonConfig; source: ConfigSource } {
    const file = this.options.configFile;
    if (!file) return { config: { bridges: [] }, source: new ConfigSource("(no config)") };
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new TapbridgeError(code ?? "EIO", code === "ENOENT" ? `config file ${file} not found` : `config file ${file} cannot be read: ${(error as Error).message}`);
    }
    return parseConfig(text, file);
  }

  private applyLocated(config: DaemonConfig, source: ConfigSource): string[] {
    try {
      return this.daemon.apply(config);
    } catch (error) {
      if (error instanceof LocatedError) throw new ConfigError([source.problem(error.where, error.message)]);
      throw error;
    }
  }

  /** The networks (after start). */
  get networks(): NetworkManager {
    if (!this.networksManager) throw new TapbridgeError("ENOTREADY", "the daemon has not started");
    return this.networksManager;
  }

  async start(): Promise<void> {
    const { config, source } = this.read();
    this.config = config;
    if (config.logLevel) this.log.level = config.logLevel;
    this.socketPath = this.options.socket ?? config.socket ?? DEFAULT_SOCKET;
    // Another daemon on this socket owns the runtime directory: touch nothing of it.
    if (await answers(this.socketPath)) throw new TapbridgeError("EADDRINUSE", `a tapbridge daemon already listens on ${this.socketPath}`);
    const networks = new NetworkManager(this.daemon, this.options.runtimeDir ?? dirname(this.socketPath), this.log);
    this.networksManager = networks;
    const recovered = await networks.recover();
    const plan = networks.plan(config.networks ?? [], config.bridges);
    await networks.preflight(plan);
    const changes = [...recovered, ...this.applyLocated(config, source)];
    try {
      changes.push(...(await networks.startPlanned(plan)));
      const native = loadNative();
      if (!native.peerCredentials) throw new TapbridgeError("ENATIVE", "the tapbridge addon lacks peerCredentials; run \"npm rebuild tapbridge\"");
      this.control = new ControlSocket({
        path: this.socketPath,
        logger: this.log,
        peerCredentials: native.peerCredentials,
        ...(config.group !== undefined ? { gid: groupId(config.group) } : {}),
        context: {
          daemon: this.daemon,
          reload: () => this.reload(),
          save: (bridge) => this.save(bridge),
          status: () => this.status(),
          networks,
        },
      });
      await this.control.listen();
      if (config.metricsListen) {
        // prom-client is loaded only when metrics are on: a restart should not wait for what it does not use.
        const { createMetricsRegistry, serveMetrics } = await import("./metrics.js");
        this.metrics = await serveMetrics(config.metricsListen, createMetricsRegistry(this.daemon, networks), this.log);
      }
    } catch (error) {
      await this.stop();
      throw error;
    }
    this.autoAttach.refresh();
    this.log.info("daemon ready", { socket: this.socketPath, config: this.options.configFile ?? null, bridges: [...this.daemon.bridges.keys()], changes });
  }

  /** Re-read the config file and apply the difference; an invalid file changes nothing. */
  reload(): Promise<string[]> {
    return this.networks.exclusive(() => this.reloadNow());
  }

  private async reloadNow(): Promise<string[]> {
    try {
      if (!this.options.configFile) throw new TapbridgeError("ENOCONFIG", "the daemon was started without a config file (-c FILE): nothing to reload");
      const { config, source } = this.read();
      const networks = this.networks;
      const plan = networks.plan(config.networks ?? [], config.bridges);
      await networks.preflight(plan);
      const changes = await networks.stopPlanned(plan);
      try {
        changes.push(...this.applyLocated(config, source));
      } catch (error) {
        await networks.restartStopped(plan);
        throw error;
      }
      changes.push(...(await networks.startPlanned(plan)));
      this.autoAttach.refresh();
      const notes: string[] = [];
      if ((config.socket ?? null) !== (this.config.socket ?? null) || config.group !== this.config.group) notes.push("control socket changes take effect at the next start");
      if ((config.metricsListen ?? null) !== (this.config.metricsListen ?? null)) notes.push("metrics listen changes take effect at the next start");
      if (config.logLevel && config.logLevel !== this.log.level) {
        notes.push(`log level ${this.log.level} → ${config.logLevel}`);
        this.log.level = config.logLevel;
      }
      this.config = config;
      const all = [...changes, ...notes];
      this.log.info("config applied", { file: this.options.configFile, changes: all });
      return all;
    } catch (error) {
      this.log.warn("config not applied: the running state is unchanged", { file: this.options.configFile, reason: (error as Error).message });
      throw error;
    }
  }

  save(bridge?: string): string {
    if (bridge !== undefined) this.daemon.bridge(bridge);
    const { bridges: _, ...base } = this.config;
    return configToYaml(this.daemon.runningConfig({ ...base, networks: this.networks.definitions() }), bridge);
  }

  status(): Record<string, unknown> {
    return {
      pid: process.pid,
      version: this.options.version,
      config: this.options.configFile ?? null,
      socket: this.socketPath,
      uptime: Math.round((Date.now() - this.started) / 1000),
      bridges: [...this.daemon.bridges.values()].map((b) => ({ name: b.name, ports: b.ports.size, ...(b.host ? { hostPort: b.host.port.label } : {}), ...(b.network ? { network: b.network } : {}) })),
      networks: this.networksManager?.list(false).map((n) => n.name) ?? [],
    };
  }

  /** Stop serving; every network is undone before the bridges close. */
  async stop(): Promise<void> {
    this.autoAttach.close();
    this.control?.close();
    this.metrics?.close();
    const networks = this.networksManager;
    if (networks) {
      try {
        await networks.exclusive(() => networks.stopAll());
      } catch (error) {
        this.log.error("stopping networks failed", { err: error });
      }
    }
    this.daemon.close();
  }
}
