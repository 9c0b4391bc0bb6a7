// This device's push subscription on the server: one home for "forget this device", used by
// the opt-in section (Turn off) and by sign-out (pages/pwa.js), so a phone that was signed out
// stops getting that person's notifications.

import { api } from './api.js';

export const SUBSCRIPTIONS_URL = '/api/v1/me/push-subscriptions';

/**
 * Remove this browser's subscription from the server, then from the browser. The server's id
 * is found by saving the subscription again (the same endpoint answers with the same id).
 * Returns false when the browser had none; throws when the server could not be told.
 */
export async function forgetThisDevice(registration, url = SUBSCRIPTIONS_URL) {
  const subscription = await registration?.pushManager?.getSubscription();
  if (!subscription) return false;
  const saved = await api.post(url, subscription.toJSON());
  await api.delete(`${url}/${saved.subscription.id}`);
  await subscription.unsubscribe();
  return true;
}
