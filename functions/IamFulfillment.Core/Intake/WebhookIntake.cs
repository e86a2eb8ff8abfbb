using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Text.Unicode;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using IamFulfillment.Core.Processing;
using Microsoft.Extensions.Logging;

namespace IamFulfillment.Core.Intake;

/// <summary>
/// Webhook intake, the same for every host: authenticate over the raw bytes (fail closed), parse only which
/// ticket it is about, remember the delivery, and acknowledge only once the work item is durably queued.
/// The body is a signal; nothing in it is trusted for the decision.
/// </summary>
public sealed partial class WebhookIntake(IDeliveryLedger ledger, IWorkQueue queue, IWorkSignal signal, IntakeOptions options, TimeProvider time, ILogger<WebhookIntake> logger)
{
    public static readonly Meter Meter = new("IamFulfillment.Intake");
    private static readonly Counter<long> Deliveries = Meter.CreateCounter<long>("iamf.webhook.deliveries", description: "Webhook deliveries by system and result");
    private static readonly JsonDocumentOptions JsonOptions = new() { MaxDepth = 32 };

    public async Task<IntakeResult> AcceptAsync(TicketSystemKind system, Func<string, string?> header, string? contentType, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var result = await AcceptCoreAsync(system, header, contentType, body, cancellationToken);
        Deliveries.Add(1, new KeyValuePair<string, object?>("system", system.ToString()), new KeyValuePair<string, object?>("result", result.Status.ToString()));
        LogResult(logger, system, result.Status, result.DeliveryId, result.Ticket?.Key, result.Message);
        return result;
    }

    private async Task<IntakeResult> AcceptCoreAsync(TicketSystemKind system, Func<string, string?> header, string? contentType, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        if (body.Length > options.MaxBodyBytes)
        {
            return new IntakeResult(IntakeStatus.TooLarge, $"The body is {body.Length} bytes; at most {options.MaxBodyBytes} are accepted.");
        }

        if (!IsJson(contentType))
        {
            return new IntakeResult(IntakeStatus.UnsupportedMediaType, $"Content-Type must be application/json (got '{Printable(contentType)}').");
        }

        var parsed = system == TicketSystemKind.ServiceNow ? ReadServiceNow(header, body.Span) : ReadJira(header, body.Span);
        if (parsed.Error is { } error)
        {
            return error;
        }

        var ticket = new TicketRef(system, parsed.TicketKey!);
        var deliveryId = parsed.DeliveryId!;
        var item = new WorkItem { System = system, TicketKey = ticket.Key, DeliveryId = deliveryId, ReceivedAt = time.GetUtcNow() };
        using var claim = signal.TryClaim();
        try
        {
            var status = claim is null
                ? await RecordThenQueueAsync(item, cancellationToken)
                : await QueueHeldThenRecordAsync(claim, item, cancellationToken);
            if (status == DeliveryStatus.AlreadyQueued)
            {
                return new IntakeResult(IntakeStatus.Duplicate, "Duplicate delivery: already queued, nothing done.", deliveryId, ticket);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogStorageFailure(logger, system, deliveryId, ex.GetType().Name);
            return new IntakeResult(IntakeStatus.Unavailable, "Storage is unavailable; nothing was queued. Retry later.", deliveryId, ticket);
        }

        if (claim is not null)
        {
            claim.Start(); // recorded as queued already
        }
        else
        {
            signal.Notify();
            try
            {
                await ledger.MarkQueuedAsync(system, deliveryId, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Queued already; a retry of this delivery would queue it again, which processing absorbs.
                LogStorageFailure(logger, system, deliveryId, ex.GetType().Name);
            }
        }

        return new IntakeResult(IntakeStatus.Accepted, "Accepted: the ticket will be processed.", deliveryId, ticket);
    }

    private async Task<DeliveryStatus> RecordThenQueueAsync(WorkItem item, CancellationToken cancellationToken)
    {
        var status = await ledger.RecordAsync(item.System, item.DeliveryId!, item.TicketKey, cancellationToken);
        if (status != DeliveryStatus.AlreadyQueued)
        {
            await queue.EnqueueAsync(item, null, cancellationToken);
        }

        return status;
    }

    /// <summary>
    /// The item is queued held for this process, then the delivery recorded as queued in one write (never before the
    /// message is durable). Only a ledger that says the delivery was queued before takes the message back: when the
    /// record cannot be written, or its answer is lost, the item is kept and processed — taken back, it could be lost
    /// (the record may have landed, and the sender's retry would then be answered as a duplicate). A second copy of an
    /// item changes nothing.
    /// </summary>
    private async Task<DeliveryStatus> QueueHeldThenRecordAsync(IWorkClaim claim, WorkItem item, CancellationToken cancellationToken)
    {
        // Queued first: the claim starts the ticket read on its way, and that read is what the requester waits for.
        await claim.QueueAsync(item, cancellationToken);
        DeliveryStatus status;
        try
        {
            status = await ledger.RecordQueuedAsync(item.System, item.DeliveryId!, item.TicketKey, cancellationToken);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogStorageFailure(logger, item.System, item.DeliveryId!, ex.GetType().Name);
            return DeliveryStatus.NotYetQueued;
        }

        if (status == DeliveryStatus.AlreadyQueued)
        {
            await WithdrawQuietlyAsync(claim, item);
        }

        return status;
    }

    private async Task WithdrawQuietlyAsync(IWorkClaim claim, WorkItem item)
    {
        try
        {
            await claim.WithdrawAsync(CancellationToken.None);
        }
        catch (Exception ex)
        {
            // The message reappears when its hold ends and is processed as a duplicate, which changes nothing.
            LogStorageFailure(logger, item.System, item.DeliveryId!, ex.GetType().Name);
        }
    }

    private Signal ReadServiceNow(Func<string, string?> header, ReadOnlySpan<byte> body)
    {
        var timestamp = header(Signatures.ServiceNowTimestampHeader)?.Trim();
        var delivery = header(Signatures.ServiceNowDeliveryHeader)?.Trim();
        var signature = header(Signatures.ServiceNowSignatureHeader);
        if (options.ServiceNowKeys.All(k => k.Length == 0))
        {
            return Signal.Fail(IntakeStatus.Unauthorized, "No ServiceNow webhook secret is configured (ServiceNow:WebhookSecret): every delivery is refused.");
        }

        if (string.IsNullOrEmpty(signature))
        {
            return Signal.Fail(IntakeStatus.Unauthorized, $"The {Signatures.ServiceNowSignatureHeader} header is missing.");
        }

        if (string.IsNullOrEmpty(timestamp) || string.IsNullOrEmpty(delivery))
        {
            return Signal.Fail(IntakeStatus.Unauthorized, $"The {Signatures.ServiceNowTimestampHeader} and {Signatures.ServiceNowDeliveryHeader} headers are required: they are part of what is signed.");
        }

        var check = Signatures.VerifyServiceNow(options.ServiceNowKeys, signature, timestamp, delivery, body);
        if (check != SignatureCheck.Valid)
        {
            return Signal.Fail(IntakeStatus.Unauthorized, Explain(check, "ServiceNow:WebhookSecret"));
        }

        if (!Signatures.TryParseUnixSeconds(timestamp, out var sentAt))
        {
            return Signal.Fail(IntakeStatus.BadRequest, $"{Signatures.ServiceNowTimestampHeader} must be UNIX seconds.");
        }

        var age = time.GetUtcNow() - sentAt;
        if (age.Duration() > options.ServiceNowMaxAge)
        {
            return Signal.Fail(IntakeStatus.Unauthorized, $"The delivery's timestamp is {Math.Abs(age.TotalSeconds):0} s {(age < TimeSpan.Zero ? "in the future" : "old")}; at most {options.ServiceNowMaxAge.TotalSeconds:0} s are accepted (replays are refused).");
        }

        if (!SafeId().IsMatch(delivery))
        {
            return Signal.Fail(IntakeStatus.BadRequest, $"{Signatures.ServiceNowDeliveryHeader} must be 1 to 64 letters, digits or '-'.");
        }

        if (!TryParse(body, out var document, out var parseError))
        {
            return Signal.Fail(IntakeStatus.BadRequest, parseError);
        }

        using (document)
        {
            var root = document!.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return Signal.Fail(IntakeStatus.BadRequest, "The body must be a JSON object.");
            }

            if (!root.TryGetProperty("sys_id", out var id) || id.ValueKind != JsonValueKind.String || !SysId().IsMatch(id.GetString()!))
            {
                return Signal.Fail(IntakeStatus.BadRequest, "sys_id must be a string of 32 hexadecimal characters.");
            }

            var table = root.TryGetProperty("table", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            if (!string.Equals(table, "sc_req_item", StringComparison.Ordinal))
            {
                return Signal.Fail(IntakeStatus.Ignored, $"Table '{Printable(table)}' is not handled (only sc_req_item); acknowledged and ignored.");
            }

            return new Signal(id.GetString()!.ToLowerInvariant(), delivery, null);
        }
    }

    private Signal ReadJira(Func<string, string?> header, ReadOnlySpan<byte> body)
    {
        var check = Signatures.VerifyJira(options.JiraSecrets, header(Signatures.JiraSignatureHeader), body);
        if (check != SignatureCheck.Valid)
        {
            return Signal.Fail(IntakeStatus.Unauthorized, check == SignatureCheck.MissingSignature
                ? $"The {Signatures.JiraSignatureHeader} header is missing (register the webhook with a secret)."
                : Explain(check, "Jira:WebhookSecret"));
        }

        var identifier = header(Signatures.JiraDeliveryHeader)?.Trim();
        var delivery = !string.IsNullOrEmpty(identifier) && identifier.Length <= 128 && SafeJiraId().IsMatch(identifier)
            ? identifier
            : "body-" + Convert.ToHexStringLower(SHA256.HashData(body))[..32];

        if (!TryParse(body, out var document, out var parseError))
        {
            return Signal.Fail(IntakeStatus.BadRequest, parseError);
        }

        using (document)
        {
            var root = document!.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return Signal.Fail(IntakeStatus.BadRequest, "The body must be a JSON object.");
            }

            if (root.TryGetProperty("timestamp", out var ts) && ts.ValueKind == JsonValueKind.Number && ts.TryGetInt64(out var millis))
            {
                var age = time.GetUtcNow() - DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(millis, 0, 253402300799999));
                if (age > options.JiraMaxAge)
                {
                    return Signal.Fail(IntakeStatus.Unauthorized, $"The delivery is {age.TotalHours:0} h old; deliveries older than {options.JiraMaxAge.TotalHours:0} h are refused (replays).");
                }
            }

            var webhookEvent = root.TryGetProperty("webhookEvent", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;
            if (webhookEvent is not ("jira:issue_created" or "jira:issue_updated"))
            {
                return Signal.Fail(IntakeStatus.Ignored, $"Event '{Printable(webhookEvent)}' is not handled; acknowledged and ignored.", delivery);
            }

            // JQL cannot leave out the service's own updates; the signed delivery names who acted, so intake does.
            if (options.JiraIntegrationAccountId is { Length: > 0 } self && root.TryGetProperty("user", out var actor) && actor.ValueKind == JsonValueKind.Object
                && actor.TryGetProperty("accountId", out var accountId) && accountId.ValueKind == JsonValueKind.String
                && string.Equals(accountId.GetString(), self, StringComparison.Ordinal))
            {
                return Signal.Fail(IntakeStatus.Ignored, "The delivery was caused by the service's own update; acknowledged and ignored.", delivery);
            }

            if (!root.TryGetProperty("issue", out var issue) || issue.ValueKind != JsonValueKind.Object
                || !issue.TryGetProperty("key", out var key) || key.ValueKind != JsonValueKind.String || !IssueKey().IsMatch(key.GetString()!))
            {
                return Signal.Fail(IntakeStatus.BadRequest, "issue.key must be a Jira issue key such as HR-12.");
            }

            if (!IsConfiguredRequestType(issue, out var why))
            {
                return Signal.Fail(IntakeStatus.Ignored, why, delivery);
            }

            return new Signal(key.GetString()!, delivery, null);
        }
    }

    private bool IsConfiguredRequestType(JsonElement issue, out string why)
    {
        why = "";
        if (options.JiraServiceDeskIds.Count == 0 && options.JiraRequestTypeIds.Count == 0)
        {
            return true;
        }

        string? serviceDesk = null;
        string? requestType = null;
        if (issue.TryGetProperty("fields", out var fields) && fields.ValueKind == JsonValueKind.Object
            && fields.TryGetProperty(options.JiraRequestTypeField, out var field) && field.ValueKind == JsonValueKind.Object
            && field.TryGetProperty("requestType", out var type) && type.ValueKind == JsonValueKind.Object)
        {
            requestType = type.TryGetProperty("id", out var id) ? Text(id) : null;
            serviceDesk = type.TryGetProperty("serviceDeskId", out var desk) ? Text(desk) : null;
        }

        return options.TakesJiraRequest(serviceDesk, requestType, out why);
    }

    private static string? Text(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number => element.GetRawText(),
        _ => null,
    };

    private static bool TryParse(ReadOnlySpan<byte> body, out JsonDocument? document, out string error)
    {
        error = "";
        document = null;

        // The reader checks UTF-8 only where it must; strings are decoded later, and invalid bytes there would throw.
        if (!Utf8.IsValid(body))
        {
            error = "The body is not valid UTF-8.";
            return false;
        }

        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = JsonOptions.MaxDepth });
            document = JsonDocument.ParseValue(ref reader);

            // ParseValue stops after the first value: anything but whitespace after it makes the body not JSON.
            if (reader.Read())
            {
                document.Dispose();
                document = null;
                error = "The body is not valid JSON (more than one value).";
                return false;
            }

            return true;
        }
        catch (JsonException ex)
        {
            document?.Dispose();
            document = null;
            error = $"The body is not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine}).";
            return false;
        }
        catch (ArgumentException)
        {
            error = "The body is not valid UTF-8 JSON.";
            return false;
        }
    }

    private static bool IsJson(string? contentType)
    {
        if (string.IsNullOrWhiteSpace(contentType))
        {
            return false;
        }

        var media = contentType.Split(';')[0].Trim();
        return media.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || (media.StartsWith("application/", StringComparison.OrdinalIgnoreCase) && media.EndsWith("+json", StringComparison.OrdinalIgnoreCase));
    }

    private static string Explain(SignatureCheck check, string key) => check switch
    {
        SignatureCheck.SecretNotConfigured => $"No webhook secret is configured ({key}): every delivery is refused.",
        SignatureCheck.MissingSignature => "The signature header is missing.",
        _ => "The signature does not match the body (check that both sides use the same secret).",
    };

    /// <summary>Text from a request shown back in a message: printable ASCII only, short.</summary>
    internal static string Printable(string? text)
    {
        if (text is null)
        {
            return "";
        }

        var clean = new string(text.Where(c => c is >= ' ' and <= '~').Take(60).ToArray());
        return clean;
    }

    private readonly record struct Signal(string? TicketKey, string? DeliveryId, IntakeResult? Error)
    {
        public static Signal Fail(IntakeStatus status, string message, string? delivery = null) => new(null, delivery, new IntakeResult(status, message, delivery));
    }

    // \z, not $: $ also matches before a final newline, so "<key>\n" would pass.
    [GeneratedRegex("^[0-9a-fA-F]{32}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex SysId();

    [GeneratedRegex("^[A-Za-z0-9-]{1,64}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex SafeId();

    [GeneratedRegex("^[A-Za-z0-9._:-]{1,128}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex SafeJiraId();

    [GeneratedRegex("^[A-Z][A-Z0-9_]{0,49}-[1-9][0-9]{0,9}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex IssueKey();

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "{System} webhook {Result}: delivery {DeliveryId}, ticket {Ticket}: {Detail}")]
    private static partial void LogResult(ILogger logger, TicketSystemKind system, IntakeStatus result, string? deliveryId, string? ticket, string detail);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Error, Message = "{System} webhook {DeliveryId}: storage failure ({Error}); answered 503")]
    private static partial void LogStorageFailure(ILogger logger, TicketSystemKind system, string deliveryId, string error);
}
