import { describe, expect, it } from "vitest";
import {
  BackfillAlreadyRunningError, DeliveryBodyUnavailableError, DeliveryNotReplayableNowError, DestinationSettingsError, EndpointStateError,
  EndpointUrlRefusedError, IntegrationDeliveryNotFoundError, IntegrationEndpointNotFoundError, merchantErrorAnswer, TooManyDestinationsError,
} from "../../app/destinations/errors";

describe("how an admin action answers a destination error", () => {
  it("says 404 for what is not the shop's, 422 for what the merchant typed, 409 for what the state refuses, nothing for faults", () => {
    expect(merchantErrorAnswer(new IntegrationEndpointNotFoundError())).toEqual({ status: 404 });
    expect(merchantErrorAnswer(new IntegrationDeliveryNotFoundError())).toEqual({ status: 404 });
    expect(merchantErrorAnswer(new DestinationSettingsError("listId", "Choose a list"))).toEqual({ status: 422, field: "listId" });
    expect(merchantErrorAnswer(new EndpointUrlRefusedError("Use https", "invalid_url"))).toEqual({ status: 422, field: "url" });
    for (const conflict of [
      new TooManyDestinationsError(10), new EndpointStateError("Paused"), new BackfillAlreadyRunningError(),
      new DeliveryNotReplayableNowError("delivering"), new DeliveryBodyUnavailableError(),
    ]) {
      expect(merchantErrorAnswer(conflict)).toEqual({ status: 409 });
    }
    expect(merchantErrorAnswer(new Error("connection refused"))).toBeNull();
    expect(merchantErrorAnswer("not an error")).toBeNull();
  });
});
