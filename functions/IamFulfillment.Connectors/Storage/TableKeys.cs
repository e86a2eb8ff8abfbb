using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace IamFulfillment.Connectors.Storage;

/// <summary>
/// Table storage key rules in one place. PartitionKey and RowKey may not contain '/', '\', '#', '?' or control
/// characters and are limited to 1 KiB (512 UTF-16 characters); values that come from outside are either checked
/// (and rejected) or replaced by a hash.
/// </summary>
internal static class TableKeys
{
    public const int MaxKeyChars = 512;

    /// <summary>A string property holds at most 64 KiB, i.e. 32 Ki UTF-16 characters.</summary>
    public const int MaxStringPropertyChars = 32 * 1024;

    private const int MaxReadableChars = 100;

    // Characters kept verbatim in readable keys. '~' and '|' are deliberately absent: '~' marks a hashed value and '|'
    // separates composite key parts, so neither can be forged by a verbatim value.
    private static readonly SearchValues<char> Readable =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:@");

    /// <summary>Throws when <paramref name="key"/> cannot be used as a PartitionKey or RowKey as it is.</summary>
    public static string EnsureValid(string key, string what)
    {
        ArgumentException.ThrowIfNullOrEmpty(key, what);
        if (key.Length > MaxKeyChars)
        {
            throw new ArgumentException($"The {what} is longer than {MaxKeyChars} characters and cannot be a table key.", what);
        }

        foreach (var c in key)
        {
            if (c is '/' or '\\' or '#' or '?' || char.IsControl(c))
            {
                throw new ArgumentException($"The {what} contains a character that table keys do not allow ('/', '\\', '#', '?' or a control character).", what);
            }
        }

        return key;
    }

    /// <summary>The value itself when it is short and made of plain characters; otherwise <c>~</c> and its SHA-256.</summary>
    public static string ReadableOrHash(string value) =>
        value.Length is > 0 and <= MaxReadableChars && !value.AsSpan().ContainsAnyExcept(Readable)
            ? value
            : "~" + Sha256Hex(value);

    public static string Sha256Hex(string value) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));

    /// <summary>Cuts a value that is kept only for people to read (never compared) to a size a property can hold.</summary>
    public static string? Cap(string? value, int maxChars = 1024) =>
        value is null || value.Length <= maxChars ? value : value[..maxChars] + "…[truncated]";
}
