namespace IamFulfillment.Core.Model;

public enum RequestType
{
    AccessGrant,
    AccessRemoval,
    Joiner,
    Mover,
    Leaver,
    MfaReset,
}

public static class RequestTypes
{
    /// <summary>Parses a request type name exactly (case-insensitive, no trimming of inner text, no aliases).</summary>
    public static bool TryParse(string? text, out RequestType type)
    {
        type = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        foreach (var candidate in Enum.GetValues<RequestType>())
        {
            if (string.Equals(candidate.ToString(), text.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                type = candidate;
                return true;
            }
        }

        return false;
    }
}
