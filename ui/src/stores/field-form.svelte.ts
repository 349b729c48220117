/**
 * What the source and rule forms share: one error per field (from the form's
 * rules or from the backend), an error that belongs to no field, and saving,
 * where an `invalid` rejection from the backend is put next to the field it
 * names.
 */
import { BackendError } from "../api/backend";
import { t, type MessageKey } from "./i18n.svelte";

/** `record` without `key`; the same object when `key` has no value, so nothing that reads it re-runs. */
export function withoutKey<R extends object>(record: R, key: keyof R): R {
  if (record[key] === undefined) return record;
  const rest = { ...record };
  delete rest[key];
  return rest;
}

export abstract class FieldForm<Field extends string> {
  /** One message per field, from the rules or from the backend. */
  errors = $state.raw<Partial<Record<Field, string>>>({});
  /** A problem that belongs to no field. */
  formError = $state<string | null>(null);
  saving = $state(false);

  private readonly fields: readonly Field[];
  private readonly fixErrors: MessageKey;

  /** `fields`: those a rejection may name; `fixErrors`: what the form says while a field is wrong. */
  constructor(fields: readonly Field[], fixErrors: MessageKey) {
    this.fields = fields;
    this.fixErrors = fixErrors;
  }

  /** Checks the form's rules and shows the first problem of each field; true when there is none. */
  abstract validate(): boolean;

  clearError(field: Field): void {
    this.errors = withoutKey(this.errors, field);
  }

  /** A rejection goes next to its field when it names one, else above the buttons. */
  protected showError(error: BackendError): void {
    const field = error.field as Field | null;
    if (error.code === "invalid" && field !== null && this.fields.includes(field)) {
      this.errors = { ...this.errors, [field]: error.message || t("error.generic") };
      this.formError = t(this.fixErrors);
    } else {
      this.formError = error.message || t("error.generic");
    }
  }

  /** Validates, then sends; resolves to the saved id, or null when something needs fixing. */
  protected async saveWith(send: () => Promise<number>): Promise<number | null> {
    if (this.saving || !this.validate()) return null;
    this.saving = true;
    try {
      return await send();
    } catch (reason) {
      this.showError(BackendError.from(reason));
      return null;
    } finally {
      this.saving = false;
    }
  }
}
