using Api.Extensions;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace Api.Datasets;

/// <summary>
/// Stages a multipart/form-data upload: text fields and files are read part by part into a <see cref="DatasetUpload"/>,
/// files streamed into the artifact store's staging area, so no file is held in memory.
/// </summary>
internal static class MultipartStager
{
    public static async Task StageAsync(HttpRequest request, DatasetUpload upload, CancellationToken cancellationToken)
    {
        string? boundary = request.HasFormContentType && MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType)
            ? HeaderUtilities.RemoveQuotes(mediaType.Boundary).Value
            : null;
        if (string.IsNullOrEmpty(boundary))
        {
            throw new DomainValidationException("body", "must be multipart/form-data with fields 'name', 'format' and files 'images' and 'labels'.");
        }

        var reader = new MultipartReader(boundary, request.Body);
        while (await ReadMultipartAsync(() => reader.ReadNextSectionAsync(cancellationToken)) is { } section)
        {
            if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                || !(disposition.IsFormDisposition() || disposition.IsFileDisposition()))
            {
                throw new DomainValidationException("body", "has a part without a form-data Content-Disposition.");
            }
            string field = HeaderUtilities.RemoveQuotes(disposition.Name).Value ?? "";
            if (disposition.IsFileDisposition())
            {
                if (!DatasetUploadService.FileFields.Contains(field))
                {
                    throw new DomainValidationException(field, $"is not an expected file; send {string.Join(", ", DatasetUploadService.FileFields)}.");
                }
                if (upload.HasFile(field))
                {
                    throw new DomainValidationException(field, "was sent more than once.");
                }
                byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 16);
                try
                {
                    int read;
                    do // at least once, so an empty file is staged (and refused as empty, not as missing)
                    {
                        read = await ReadMultipartAsync(() => section.Body.ReadAsync(buffer, cancellationToken).AsTask());
                        await upload.AppendAsync(field, buffer.AsMemory(0, read), cancellationToken);
                    }
                    while (read > 0);
                }
                finally
                {
                    System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                }
            }
            else
            {
                upload.AddField(field, await ReadMultipartAsync(() => ReadFieldAsync(upload, field, section.Body, cancellationToken)));
            }
        }
    }

    /// <summary>
    /// A text field's value, read only as far as <see cref="ApiOptions.MaxFormFieldLength"/> allows: a longer field is refused
    /// before the rest of it is buffered (400 naming the field and the setting). Checks <see cref="ApiOptions.MaxFormFields"/> first.
    /// </summary>
    private static async Task<string> ReadFieldAsync(DatasetUpload upload, string field, Stream body, CancellationToken cancellationToken)
    {
        upload.CheckFieldCount();
        byte[] buffer = new byte[Math.Min(upload.MaxFieldLength + 1, 1 << 16)];
        using var value = new MemoryStream();
        int read;
        while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
        {
            value.Write(buffer, 0, read);
            if (value.Length > upload.MaxFieldLength)
            {
                throw new DomainValidationException(field,
                    $"is longer than {upload.MaxFieldLength} bytes; the limit is {upload.MaxFieldLength} ({ApiOptions.SectionName}:{nameof(ApiOptions.MaxFormFieldLength)}).");
            }
        }
        return new StreamReader(new MemoryStream(value.GetBuffer(), 0, (int)value.Length), detectEncodingFromByteOrderMarks: true).ReadToEnd();
    }

    /// <summary>
    /// One read from the multipart body. <see cref="MultipartReader"/> throws a plain <see cref="IOException"/> when the
    /// body ends before the closing boundary: that is the client's malformed request (400 naming <c>body</c>). Only
    /// reads are wrapped, so a failing write to the staging area stays a server error (507 on a full disk); a body over Kestrel's size limit
    /// (<see cref="BadHttpRequestException"/>, also an <see cref="IOException"/>) keeps its own status.
    /// </summary>
    private static async Task<T> ReadMultipartAsync<T>(Func<Task<T>> read)
    {
        try
        {
            return await read();
        }
        catch (IOException ex) when (ex is not BadHttpRequestException)
        {
            throw new DomainValidationException("body", "ends before its closing multipart boundary: the request body is truncated.");
        }
    }
}
