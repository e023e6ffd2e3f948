using System.Buffers;
using System.Globalization;
using System.Text;
using Api.Extensions;
using Microsoft.AspNetCore.Http.Features;

namespace Api.Jobs;

/// <summary>
/// Reads a job-spec body within <see cref="ApiOptions.MaxJobSpecBytes"/>: a declared <c>Content-Length</c> over the limit
/// is refused before anything is read, and a chunked body stops being read at the first byte past it (413 naming the setting).
/// </summary>
public static class JobSpecBody
{
    public const string SettingKey = $"{ApiOptions.SectionName}:{nameof(ApiOptions.MaxJobSpecBytes)}";

    /// <summary>The 413 detail for a spec of more than <paramref name="limit"/> bytes.</summary>
    public static string TooLarge(long limit) =>
        $"The job spec is larger than {limit.ToString(CultureInfo.InvariantCulture)} bytes; the limit is {SettingKey}.";

    public static async Task<string> ReadAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limit)
        {
            throw new BadHttpRequestException(TooLarge(limit), StatusCodes.Status413PayloadTooLarge);
        }
        // Kestrel stops the body at the same bound too; the server-wide Api:MaxUploadBytes is far higher.
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = limit + 1;
        }
        var buffer = new ArrayBufferWriter<byte>(4096);
        while (true)
        {
            Memory<byte> memory = buffer.GetMemory(8192);
            int read;
            try
            {
                read = await request.Body.ReadAsync(memory, cancellationToken);
            }
            catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                throw new BadHttpRequestException(TooLarge(limit), StatusCodes.Status413PayloadTooLarge);
            }
            if (read == 0)
            {
                break;
            }
            buffer.Advance(read);
            if (buffer.WrittenCount > limit)
            {
                throw new BadHttpRequestException(TooLarge(limit), StatusCodes.Status413PayloadTooLarge);
            }
        }
        // Invalid UTF-8 becomes U+FFFD, as StreamReader read it before; the spec parser reports what it cannot read.
        ReadOnlySpan<byte> bytes = buffer.WrittenSpan;
        if (bytes.StartsWith(Encoding.UTF8.Preamble))
        {
            bytes = bytes[Encoding.UTF8.Preamble.Length..];
        }
        return Encoding.UTF8.GetString(bytes);
    }
}
