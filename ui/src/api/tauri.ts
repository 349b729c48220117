/** The real backend: every method is one Tauri command. */
import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import type { ListQuery } from "../bindings/ListQuery";
import type { MessageDetail } from "../bindings/MessageDetail";
import type { MessagePage } from "../bindings/MessagePage";
import type { SourceView } from "../bindings/SourceView";
import type { ExportView } from "../bindings/ExportView";
import type { ImportView } from "../bindings/ImportView";
import type { ProbeView } from "../bindings/ProbeView";
import type { PublishApiChange } from "../bindings/PublishApiChange";
import type { PublishApiView } from "../bindings/PublishApiView";
import type { SettingsView } from "../bindings/SettingsView";
import type { LanguageView } from "../bindings/LanguageView";
import type { SourceSettings } from "../bindings/SourceSettings";
import type { DeliveryFailureView } from "../bindings/DeliveryFailureView";
import type { PolicyInput } from "../bindings/PolicyInput";
import type { QuietView } from "../bindings/QuietView";
import type { RulePreview } from "../bindings/RulePreview";
import type { RuleView } from "../bindings/RuleView";
import type { StorageView } from "../bindings/StorageView";
import { BackendError, type Backend } from "./backend";
import { EVENT_NAME, parseEvent, type HeraldEvent } from "./events";

// Tauri maps camelCase argument keys to the commands' snake_case parameters,
// so `messageId` reaches Rust as `message_id`.
async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (reason) {
    throw BackendError.from(reason);
  }
}

export function tauriBackend(): Backend {
  return {
    listMessages: (query: ListQuery) => call<MessagePage>("list_messages", { query }),
    getMessage: (id: number) => call<MessageDetail>("get_message", { id }),
    listSources: () => call<SourceView[]>("list_sources"),
    setRead: (ids, read) => call<void>("set_read", { ids, read }),
    markAllRead: (source) => call<void>("mark_all_read", { source }),
    setStarred: (ids, starred) => call<void>("set_starred", { ids, starred }),
    archive: (ids, archived) => call<void>("set_archived", { ids, archived }),
    snooze: (ids, until) => call<void>("snooze", { ids, until }),
    deleteMessages: (ids) => call<void>("delete_messages", { ids }),
    openLink: (url) => call<void>("open_link", { url }),
    runHttpAction: (messageId, index) => call<void>("run_http_action", { messageId, index }),
    startDemo: () => call<void>("start_demo"),
    getSource: (id) => call<SourceSettings>("get_source", { id }),
    saveSource: (source) => call<number>("save_source", { source }),
    testSource: (source) => call<ProbeView>("test_source", { source }),
    setSourceEnabled: (id, enabled) => call<void>("set_source_enabled", { id, enabled }),
    removeSource: (id, deleteMessages) => call<number>("remove_source", { id, deleteMessages }),
    getSettings: () => call<SettingsView>("get_settings"),
    setRetention: (maxAgeDays, maxPerSource) =>
      call<void>("set_retention", { maxAgeDays, maxPerSource }),
    setAutostart: (enabled) => call<void>("set_autostart", { enabled }),
    getLanguage: () => call<LanguageView>("get_language"),
    setLanguage: (choice) => call<LanguageView>("set_language", { choice }),
    getPublishApi: () => call<PublishApiView>("get_publish_api"),
    setPublishApi: (input) => call<PublishApiChange>("set_publish_api", { input }),
    regeneratePublishToken: () => call<PublishApiChange>("regenerate_publish_token"),
    exportMessages: () => call<ExportView>("export_messages"),
    importMessages: (contents) => call<ImportView>("import_messages", { contents }),
    listRules: () => call<RuleView[]>("list_rules"),
    saveRule: (rule) => call<number>("save_rule", { rule }),
    removeRule: (id) => call<void>("remove_rule", { id }),
    setRuleEnabled: (id, enabled) => call<void>("set_rule_enabled", { id, enabled }),
    moveRule: (id, position) => call<void>("move_rule", { id, position }),
    previewRules: (rule, limit) => call<RulePreview>("preview_rules", { rule, limit }),
    listDeliveryFailures: (limit) => call<DeliveryFailureView[]>("list_delivery_failures", { limit }),
    getPolicy: () => call<PolicyInput>("get_policy"),
    setPolicy: (policy) => call<PolicyInput>("set_policy", { policy }),
    getQuiet: () => call<QuietView>("get_quiet"),
    pauseNotifications: (pause) => call<QuietView>("pause_notifications", { pause }),
    muteSource: (id, pause) => call<QuietView>("mute_source", { id, pause }),
    setSourcesPaused: (paused) => call<QuietView>("set_sources_paused", { paused }),
    getStorage: () => call<StorageView>("get_storage"),
    windowReady: () => call<void>("window_ready"),
    async onEvent(handler: (event: HeraldEvent) => void) {
      const unlisten = await listen<unknown>(EVENT_NAME, (event) => {
        const parsed = parseEvent(event.payload);
        if (parsed) handler(parsed);
      });
      return unlisten;
    },
  };
}
