using System.Text;
using System.Text.Json;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Processing;

namespace IamFulfillment.Connectors.Storage;

/// <summary>
/// The wire format of a <see cref="WorkItem"/> on the work queue: camelCase JSON, enums by name, base64 on the wire
/// (what the Azure Functions queue trigger decodes by default), e.g.
/// <c>{"system":"Jira","ticketKey":"HR-12","deliveryId":"…","receivedAt":"…","attempt":0,"reason":"webhook"}</c>.
/// </summary>
public static class WorkMessage
{
    /// <summary>A queue message holds 64 KiB once encoded; base64 leaves 48 KiB of text.</summary>
    public const int MaxTextBytes = 48 * 1024;

    public static string Serialize(WorkItem item)
    {
        var text = JsonSerializer.Serialize(new Wire(item.System, item.TicketKey, item.DeliveryId, item.ReceivedAt, item.Attempt, item.Reason), StorageJson.Options);
        return Encoding.UTF8.GetByteCount(text) <= MaxTextBytes
            ? text
            : throw new ArgumentException($"The work item for {item.Ticket} is larger than a queue message can hold.", nameof(item));
    }

    /// <summary>
    /// The work item in a decoded message text, or null when it is not one (bad JSON, missing or unknown system, empty
    /// ticket key). The Azure Functions queue trigger hands its function this decoded string; the standalone consumer
    /// gets it from <see cref="QueueWorkSource"/>. Never throws.
    /// </summary>
    public static WorkItem? ParseMessage(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        try
        {
            var wire = JsonSerializer.Deserialize<Wire>(text, StorageJson.Options);
            if (wire is not { System: { } system, TicketKey: { Length: > 0 } key } || !Enum.IsDefined(system) || wire.Attempt < 0)
            {
                return null;
            }

            return new WorkItem
            {
                System = system,
                TicketKey = key,
                DeliveryId = wire.DeliveryId,
                ReceivedAt = wire.ReceivedAt,
                Attempt = wire.Attempt,
                Reason = string.IsNullOrEmpty(wire.Reason) ? "webhook" : wire.Reason,
            };
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>The base64 text of a raw queue message, decoded; null when it is not base64 of UTF-8 text.</summary>
    public static string? DecodeBase64(string raw)
    {
        var buffer = new byte[(raw.Length * 3 / 4) + 3];
        if (!Convert.TryFromBase64String(raw, buffer, out var written))
        {
            return null;
        }

        try
        {
            return new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(buffer, 0, written);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    // Explicit, so the wire contract does not change when WorkItem gains a computed member (like Ticket).
    private sealed record Wire(TicketSystemKind? System, string? TicketKey, string? DeliveryId, DateTimeOffset? ReceivedAt, int Attempt, string? Reason);
}
