using System.Globalization;
using System.Text.RegularExpressions;
using IamFulfillment.Core.Model;

namespace IamFulfillment.Core.Requests;

/// <summary>Turns a ticket snapshot's normalised fields into an <see cref="AccessRequest"/>, noting what does not parse.</summary>
public static partial class RequestReader
{
    private static readonly string[] DateFormats = ["yyyy-MM-dd"];

    private static readonly string[] DateTimeFormats =
    [
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK", "yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mmK",
    ];

    private static readonly string[] LocalDateTimeFormats =
    [
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm",
    ];

    public static AccessRequest Read(TicketSnapshot ticket, string defaultTimeZone)
    {
        var problems = new List<string>();
        string? Field(string name) => ticket.Fields.TryGetValue(name, out var value) && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;

        var rawType = Field(RequestFields.RequestType);
        RequestType? type = null;
        if (rawType is not null)
        {
            if (RequestTypes.TryParse(rawType, out var parsed))
            {
                type = parsed;
            }
            else
            {
                problems.Add($"The request type \"{rawType}\" is not one this service handles.");
            }
        }

        var zoneName = Field(RequestFields.TimeZone);
        TimeZoneInfo zone = TimeZoneInfo.Utc;
        if (zoneName is not null && !TimeZoneInfo.TryFindSystemTimeZoneById(zoneName, out zone!))
        {
            problems.Add($"The time zone \"{zoneName}\" is not a known time zone (use a name like Europe/London).");
            zone = TimeZoneInfo.Utc;
        }
        else if (zoneName is null && !TimeZoneInfo.TryFindSystemTimeZoneById(defaultTimeZone, out zone!))
        {
            zone = TimeZoneInfo.Utc;
        }

        return new AccessRequest
        {
            Ticket = ticket.Ref,
            Number = ticket.Number,
            Type = type,
            RawType = rawType,
            RequestedFor = ticket.People.GetValueOrDefault(RequestFields.RequestedFor),
            Requester = ticket.OpenedBy,
            // Not through Field(): its Trim() would strip Unicode spaces that must stay visible (and unmatched).
            EntitlementIds = SplitEntitlements(ticket.Fields.GetValueOrDefault(RequestFields.Entitlements)),
            Justification = Field(RequestFields.Justification),
            StartDate = ParseDate(Field(RequestFields.StartDate), "start date", zone, problems),
            EndDate = ParseDate(Field(RequestFields.EndDate), "end date", zone, problems),
            EffectiveDate = ParseDate(Field(RequestFields.EffectiveDate), "effective date", zone, problems),
            TerminationAt = ParseDate(Field(RequestFields.TerminationDate), "termination date", zone, problems),
            TimeZone = zoneName,
            EmployeeNumber = Field(RequestFields.EmployeeNumber),
            VerificationMethod = Field(RequestFields.VerificationMethod),
            VerifiedBy = ticket.People.GetValueOrDefault(RequestFields.VerifiedBy),
            VerifiedAt = ParseDate(Field(RequestFields.VerifiedAt), "verification time", zone, problems),
            Reason = Field(RequestFields.Reason),
            ParseProblems = problems,
        };
    }

    /// <summary>
    /// Entitlement ids separated by commas, semicolons or new lines; each kept exactly as written, only ordinary
    /// spaces and tabs trimmed. Unicode spaces (no-break, ideographic, …) stay, so an id carrying one does not
    /// match and the requester is told which character it is.
    /// </summary>
    public static IReadOnlyList<string> SplitEntitlements(string? raw) =>
        raw is null
            ? []
            : raw.Split([',', ';', '\n', '\r'])
                .Select(id => id.Trim(' ', '\t'))
                .Where(id => id.Length > 0)
                .Distinct(StringComparer.Ordinal)
                .ToList();

    /// <summary>
    /// Dates arrive as ISO-8601: a date alone, a date-time with offset, or a local date-time that is placed in
    /// <paramref name="zone"/> (the ticket's or the policy's time zone).
    /// </summary>
    public static DateTimeOffset? ParseDate(string? text, string label, TimeZoneInfo zone, List<string> problems)
    {
        if (text is null)
        {
            return null;
        }

        // The "K" specifier also matches no offset at all, and then TryParseExact takes the machine's time zone:
        // an offset-less date-time must never get that far. Only text that states its offset is read as such.
        if (HasExplicitOffset(text)
            && DateTimeOffset.TryParseExact(text, DateTimeFormats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var withOffset))
        {
            return withOffset;
        }

        if (DateTime.TryParseExact(text, DateFormats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)
            || DateTime.TryParseExact(text, LocalDateTimeFormats, CultureInfo.InvariantCulture, DateTimeStyles.None, out date))
        {
            var unspecified = DateTime.SpecifyKind(date, DateTimeKind.Unspecified);
            return new DateTimeOffset(unspecified, zone.GetUtcOffset(unspecified));
        }

        problems.Add($"The {label} \"{text}\" is not a date (expected a date such as 2026-12-31).");
        return null;
    }

    /// <summary>Whether the time part ends in "Z" or a numeric offset (the date part's own '-' do not count).</summary>
    private static bool HasExplicitOffset(string text) =>
        text.Length > 10 && (text[^1] is 'Z' or 'z' || OffsetSuffix().IsMatch(text.AsSpan(10)));

    [GeneratedRegex(@"[+-]\d{2}(:?\d{2})?$", RegexOptions.CultureInvariant)]
    private static partial Regex OffsetSuffix();
}
