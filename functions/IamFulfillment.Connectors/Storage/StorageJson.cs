using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace IamFulfillment.Connectors.Storage;

internal static class StorageJson
{
    /// <summary>
    /// For values stored in table properties and queue messages. Relaxed escaping keeps non-ASCII text readable in
    /// Storage Explorer; it is safe because these strings are never embedded in HTML.
    /// </summary>
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter(namingPolicy: null, allowIntegerValues: false) },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Like <see cref="Options"/> but keeps null values (audit data: a null value is part of the hashed record).</summary>
    public static readonly JsonSerializerOptions KeepNulls = new(Options)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };
}
