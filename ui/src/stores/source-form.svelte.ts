/**
 * The add/edit source form: what is typed, turned into a `SourceInput`;
 * the rules checked before anything is sent; the backend's own `invalid`
 * errors put next to the field they name; "Test connection"; saving.
 *
 * Secrets are write-only. Editing starts with empty secret inputs; leaving
 * them empty sends `credentials: {kind: "keep"}` and `value: null` for each
 * stored header, so the stored values stay without ever reaching the window.
 *
 * Credentials bound for another machine over plain ws:// (or http://) need
 * the user's confirmation; the checkbox for it is offered only then, and
 * `allow_plain_credentials` is sent true only while it is offered.
 */
import type { CredentialsInput } from "../bindings/CredentialsInput";
import type { FieldMapInput } from "../bindings/FieldMapInput";
import type { HeaderInput } from "../bindings/HeaderInput";
import type { ProbeView } from "../bindings/ProbeView";
import type { ProtocolView } from "../bindings/ProtocolView";
import type { SourceInput } from "../bindings/SourceInput";
import type { StoredCredentials } from "../bindings/StoredCredentials";
import { BackendError, type Backend } from "../api/backend";
import {
  checkSource,
  DEFAULT_MAP,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_QOS,
  DEFAULT_READ_TIMEOUT_SECS,
  hasSecretHeader,
  isBroker,
  MAX_CLIENT_ID_CHARS,
  MAX_FRAME_RANGE,
  plainTextHost,
  READ_TIMEOUT_RANGE,
  sendsCredentials,
  SOURCE_FIELDS,
  usesFieldMap,
  type FormProtocol,
  type SourceField,
  type SourceProblem,
} from "../lib/source-rules";
import { FieldForm } from "./field-form.svelte";
import { t } from "./i18n.svelte";

export type AuthKind = "none" | "token" | "basic";

/** One header row. `storedName` is set for a header loaded from the backend, whose value is withheld. */
export type HeaderRow = { key: number; name: string; value: string; storedName: string | null };

/** One STOMP destination or MQTT topic filter, as typed. */
export type SubscriptionRow = { key: number; value: string };

/**
 * Which credential kinds a protocol takes: brokers sign in with a username
 * and password only (STOMP login/passcode, MQTT username/password), ntfy
 * with either, Gotify and JSON feeds with a token.
 */
export function authKindsFor(protocol: ProtocolView): AuthKind[] {
  if (isBroker(protocol)) return ["none", "basic"];
  return protocol === "ntfy" ? ["none", "token", "basic"] : ["none", "token"];
}

const KIB = 1024;
/** The frame limit is typed in KiB. */
const MAX_FRAME_KIB = { min: MAX_FRAME_RANGE.min / KIB, max: MAX_FRAME_RANGE.max / KIB } as const;
const WHOLE = /^\d+$/;

/** The fields inside the form's "Advanced" section. */
const ADVANCED_FIELDS: readonly SourceField[] = ["headers", "ca_file", "read_timeout_secs", "max_frame_bytes"];

function problemText(problem: SourceProblem): string {
  switch (problem.rule) {
    case "nameTaken":
      return t("sourceForm.errors.nameTaken", { name: problem.name });
    case "urlScheme":
      return t("sourceForm.errors.urlScheme", { scheme: problem.scheme });
    case "headerName":
    case "headerValue":
    case "headerValueRequired":
      return t(`sourceForm.errors.${problem.rule}`, { name: problem.name });
    case "pointer":
      return t("sourceForm.errors.pointer", { field: t(`sourceForm.mapFields.${problem.mapField}`) });
    case "readTimeout":
      return t("sourceForm.errors.readTimeout", READ_TIMEOUT_RANGE);
    case "maxFrame":
      return t("sourceForm.errors.maxFrame", MAX_FRAME_KIB);
    case "subscriptionEmpty":
    case "stompDestination":
    case "mqttHash":
    case "mqttPlus":
      return t(`sourceForm.errors.${problem.rule}`, { subscription: problem.subscription });
    case "subscriptionsRequired":
      return t(`sourceForm.errors.subscriptionsRequired.${problem.protocol}`);
    case "idHeader":
      return t("sourceForm.errors.idHeader", { header: problem.header });
    case "clientId":
      return t("sourceForm.errors.clientId", { max: MAX_CLIENT_ID_CHARS });
    case "plainCredentials":
      return t("sourceForm.errors.plainCredentials", { host: problem.host });
    default:
      return t(`sourceForm.errors.${problem.rule}`);
  }
}

export class SourceFormStore extends FieldForm<SourceField> {
  /** Loading an existing source for editing. */
  status = $state<"ready" | "loading" | "error">("ready");
  loadError = $state.raw<BackendError | null>(null);

  id = $state<number | null>(null);
  /** The name as stored, for the title while it is being edited. */
  storedName = $state("");
  name = $state("");
  protocol = $state<FormProtocol>("ntfy");
  url = $state("");
  enabled = $state(true);
  authInQuery = $state(false);

  authKind = $state<AuthKind>("none");
  token = $state("");
  username = $state("");
  password = $state("");
  /** What the backend has stored; "none" when adding. */
  storedCredentials = $state<StoredCredentials>("none");
  storedUsername = $state<string | null>(null);
  secretStore = $state("none");

  headers = $state<HeaderRow[]>([]);
  map = $state<FieldMapInput>({ ...DEFAULT_MAP });
  subscribeFrame = $state("");
  resumeUrl = $state("");
  textFrames = $state(false);
  /** STOMP destinations or MQTT topic filters; one empty row to type into when there are none. */
  subscriptions = $state<SubscriptionRow[]>([]);
  virtualHost = $state("");
  clientId = $state("");
  /** "0" or "1", as the select holds it. */
  qos = $state(String(DEFAULT_QOS));
  /** STOMP durable subscription, MQTT persistent session. */
  durable = $state(false);
  idHeader = $state("");
  caFile = $state("");
  readTimeout = $state(String(DEFAULT_READ_TIMEOUT_SECS));
  maxFrameKib = $state(String(DEFAULT_MAX_FRAME_BYTES / KIB));
  /** The user confirmed sending the credentials unencrypted; it counts only while `asksPlainCredentials`. */
  allowPlainCredentials = $state(false);
  /**
   * The backend refused to send the credentials unencrypted. It knows what
   * is stored now (credentials added from the command line since the form
   * opened), so the question stays even where the form's own check would
   * not have asked it.
   */
  private plainCredentialsRefused = $state(false);

  testing = $state(false);
  probe = $state.raw<ProbeView | null>(null);
  probeError = $state.raw<BackendError | null>(null);

  /** Whether an error sits in the collapsed "Advanced" section. */
  advancedError = $derived(ADVANCED_FIELDS.some((field) => this.errors[field] !== undefined));
  /** Stored credentials that saving will delete. */
  removingCredentials = $derived(this.storedCredentials !== "none" && this.authKind === "none");
  /** The host the URL reaches over plain ws:// when it is another machine, else null. */
  plainHost = $derived(plainTextHost(this.protocol, this.url));
  /** Whether to offer "Send credentials without encryption": plain ws:// to another machine, with something secret to send. */
  asksPlainCredentials = $derived(
    this.plainHost !== null &&
      (this.plainCredentialsRefused ||
        sendsCredentials(this.credentials(), this.credentialsStored()) ||
        hasSecretHeader(this.headerInputs())),
  );

  private readonly backend: Backend;
  private readonly otherNames: () => readonly string[];
  private storedHeaderNames: string[] = [];
  /** The limit as loaded, so a value that is not whole KiB survives an untouched save. */
  private loadedMaxFrame = { text: this.maxFrameKib, bytes: DEFAULT_MAX_FRAME_BYTES };
  private nextHeaderKey = 1;
  private nextSubscriptionKey = 1;

  /** `otherNames`: the names of the other sources, for the unique-name rule. */
  constructor(backend: Backend, otherNames: () => readonly string[] = () => []) {
    super(SOURCE_FIELDS, "sourceForm.fixErrors");
    this.backend = backend;
    this.otherNames = otherNames;
  }

  get editing(): boolean {
    return this.id !== null;
  }

  async load(id: number): Promise<void> {
    this.status = "loading";
    this.loadError = null;
    try {
      const settings = await this.backend.getSource(id);
      const input = settings.input;
      if (input.protocol === "local") {
        // The local publish API has no form of its own: the settings screen manages it.
        this.loadError = new BackendError("local", t("sourceForm.localSource"));
        this.status = "error";
        return;
      }
      this.id = input.id ?? id;
      this.storedName = input.name;
      this.name = input.name;
      this.protocol = input.protocol;
      this.url = input.url;
      this.enabled = input.enabled;
      this.authInQuery = input.auth_in_query;
      this.storedCredentials = settings.stored_credentials;
      this.storedUsername = settings.username;
      this.secretStore = settings.secret_store;
      this.authKind = settings.stored_credentials;
      this.token = "";
      this.username = settings.username ?? "";
      this.password = "";
      this.storedHeaderNames = input.headers.map((header) => header.name);
      this.headers = input.headers.map((header) => ({
        key: this.nextHeaderKey++,
        name: header.name,
        value: header.value ?? "",
        storedName: header.value === null ? header.name : null,
      }));
      this.map = { ...input.map };
      this.subscribeFrame = input.subscribe_frame;
      this.resumeUrl = input.resume_url;
      this.textFrames = input.text_frames;
      this.subscriptions = this.subscriptionRows(input.subscriptions);
      this.virtualHost = input.virtual_host;
      this.clientId = input.client_id;
      this.qos = String(input.qos);
      this.durable = input.durable;
      this.idHeader = input.id_header;
      this.allowPlainCredentials = input.allow_plain_credentials;
      this.caFile = input.ca_file;
      this.readTimeout = String(input.read_timeout_secs);
      const kib = input.max_frame_bytes / KIB;
      this.maxFrameKib = String(Number.isInteger(kib) ? kib : Math.round(kib));
      this.loadedMaxFrame = { text: this.maxFrameKib, bytes: input.max_frame_bytes };
      this.status = "ready";
    } catch (reason) {
      this.loadError = BackendError.from(reason);
      this.status = "error";
    }
  }

  /** Switches the add form to another protocol, with that protocol's defaults for its own settings. */
  setProtocol(protocol: FormProtocol): void {
    this.protocol = protocol;
    const kinds = authKindsFor(protocol);
    if (!kinds.includes(this.authKind)) this.authKind = kinds.includes("token") ? "token" : "basic";
    if (isBroker(protocol) && this.subscriptions.length === 0) this.subscriptions = this.subscriptionRows([]);
    this.durable = protocol === "mqtt";
    this.clearError("url");
    this.clearError("credentials");
    this.clearError("subscriptions");
  }

  setAuthKind(kind: AuthKind): void {
    this.authKind = kind;
    this.clearError("credentials");
  }

  /** The "remove stored credentials" button; `undoRemoveCredentials` takes it back. */
  removeCredentials(): void {
    this.setAuthKind("none");
  }

  undoRemoveCredentials(): void {
    this.setAuthKind(this.storedCredentials);
  }

  addHeader(): void {
    this.headers = [...this.headers, { key: this.nextHeaderKey++, name: "", value: "", storedName: null }];
  }

  removeHeader(key: number): void {
    this.headers = this.headers.filter((header) => header.key !== key);
    this.clearError("headers");
  }

  /** Rows for these subscriptions; a broker source always shows at least one row to type into. */
  private subscriptionRows(values: readonly string[]): SubscriptionRow[] {
    const shown = values.length > 0 || !isBroker(this.protocol) ? values : [""];
    return shown.map((value) => ({ key: this.nextSubscriptionKey++, value }));
  }

  addSubscription(): void {
    this.subscriptions = [...this.subscriptions, { key: this.nextSubscriptionKey++, value: "" }];
  }

  removeSubscription(key: number): void {
    this.subscriptions = this.subscriptions.filter((row) => row.key !== key);
    this.clearError("subscriptions");
  }

  resetMap(): void {
    this.map = { ...DEFAULT_MAP };
    this.clearError("map");
  }

  /**
   * What the credential inputs mean. While editing, untouched inputs keep
   * what is stored; a kind with nothing typed and nothing stored sends empty
   * values, which the rules then reject with a message.
   */
  credentials(): CredentialsInput {
    const stored = this.editing ? this.storedCredentials : "none";
    switch (this.authKind) {
      case "none":
        return this.editing && stored === "none" ? { kind: "keep" } : { kind: "none" };
      case "token": {
        const token = this.token.trim();
        if (token === "" && stored === "token") return { kind: "keep" };
        return { kind: "token", token };
      }
      case "basic": {
        const username = this.username.trim();
        if (this.password === "" && stored === "basic" && username === (this.storedUsername ?? "")) return { kind: "keep" };
        return { kind: "basic", username, password: this.password };
      }
    }
  }

  /**
   * Whether credentials are stored, which `keep` sends again. The store
   * counts too: a keyring that could not be read shows no kind, yet the
   * backend still has something stored there.
   */
  private credentialsStored(): boolean {
    return this.editing && (this.storedCredentials !== "none" || this.secretStore !== "none");
  }

  private headerInputs(): HeaderInput[] {
    return this.headers
      .filter((row) => !(row.storedName === null && row.name.trim() === "" && row.value === ""))
      .map((row) => ({
        name: row.name.trim(),
        // An empty value is "not typed": it keeps a stored value under the same name.
        value: row.value === "" ? null : row.value,
      }));
  }

  private maxFrameBytes(): number {
    const text = this.maxFrameKib.trim();
    if (text === this.loadedMaxFrame.text) return this.loadedMaxFrame.bytes;
    return WHOLE.test(text) ? Number(text) * KIB : Number.NaN;
  }

  /**
   * The form as the backend takes it. Settings of other protocols are left
   * at their defaults: JSON-only ones for everything but JSON feeds, the
   * field map for ntfy and Gotify, broker settings for everything but
   * brokers. Blank subscription rows are left out.
   */
  toInput(): SourceInput {
    const json = this.protocol === "json";
    const broker = isBroker(this.protocol);
    const stomp = this.protocol === "stomp";
    const mqtt = this.protocol === "mqtt";
    const timeout = this.readTimeout.trim();
    return {
      id: this.id,
      name: this.name.trim(),
      protocol: this.protocol,
      url: this.url.trim(),
      enabled: this.enabled,
      auth_in_query: !json && !broker && this.authKind !== "none" && this.authInQuery,
      headers: this.headerInputs(),
      map: usesFieldMap(this.protocol) ? { ...this.map } : { ...DEFAULT_MAP },
      subscribe_frame: json ? this.subscribeFrame : "",
      resume_url: json ? this.resumeUrl.trim() : "",
      text_frames: json && this.textFrames,
      ca_file: this.caFile.trim(),
      read_timeout_secs: WHOLE.test(timeout) ? Number(timeout) : Number.NaN,
      max_frame_bytes: this.maxFrameBytes(),
      credentials: this.credentials(),
      subscriptions: broker ? this.subscriptions.map((row) => row.value.trim()).filter((value) => value !== "") : [],
      virtual_host: stomp ? this.virtualHost.trim() : "",
      // Kept for STOMP while "durable" is off: it names the durable subscription when it is turned back on.
      client_id: broker ? this.clientId.trim() : "",
      qos: mqtt ? Number(this.qos) : DEFAULT_QOS,
      durable: broker && this.durable,
      id_header: stomp ? this.idHeader.trim() : "",
      allow_plain_credentials: this.asksPlainCredentials && this.allowPlainCredentials,
    };
  }

  /** Checks the rules and shows the first problem of each field; true when there is none. */
  validate(options: { forTest?: boolean } = {}): boolean {
    const problems = checkSource(this.toInput(), {
      otherNames: this.otherNames(),
      storedHeaders: this.storedHeaderNames,
      credentialsStored: this.credentialsStored(),
    }).filter((problem) => !(options.forTest && problem.field === "name"));
    const errors: Partial<Record<SourceField, string>> = {};
    for (const problem of problems) errors[problem.field] ??= problemText(problem);
    this.errors = errors;
    this.formError = problems.length > 0 ? t("sourceForm.fixErrors") : null;
    return problems.length === 0;
  }

  protected override showError(error: BackendError): void {
    if (error.code === "invalid" && error.field === "allow_plain_credentials") this.plainCredentialsRefused = true;
    super.showError(error);
  }

  /** Saves; resolves to the source's id, or null when something needs fixing. */
  save(): Promise<number | null> {
    return this.saveWith(() => this.backend.saveSource(this.toInput()));
  }

  /** "Test connection": connects once with what is in the form; stores nothing. */
  async test(): Promise<void> {
    if (this.testing || !this.validate({ forTest: true })) return;
    this.testing = true;
    this.probe = null;
    this.probeError = null;
    try {
      this.probe = await this.backend.testSource(this.toInput());
    } catch (reason) {
      const error = BackendError.from(reason);
      if (error.code === "invalid" && error.field !== null) this.showError(error);
      else this.probeError = error;
    } finally {
      this.testing = false;
    }
  }
}
