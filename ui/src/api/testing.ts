/** Helpers for the mock backend's tests. */
import { BackendError } from "./backend";

/** The error a call was refused with; fails the test when the call succeeds. */
export async function rejection(promise: Promise<unknown>): Promise<BackendError> {
  try {
    await promise;
  } catch (reason) {
    if (reason instanceof BackendError) return reason;
    throw reason;
  }
  throw new Error("expected the call to be refused");
}
