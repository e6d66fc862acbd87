// Decoding one frame of an instance to 8-bit samples with DCMTK's DicomImage, or copying it as
// stored when Swift has found the stored samples need no mapping.
#include "wecare_image.h"
#include "image_internal.h"
#include "dcmtk/dcmimgle/dcmimage.h"
#include "dcmtk/dcmimage/diregist.h"  // makes DicomImage handle colour (RGB, YBR, palette)
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcofsetl.h"
#include "dcmtk/dcmdata/dcpixel.h"
#include "dcmtk/dcmdata/dcpixseq.h"
#include "dcmtk/dcmdata/dcpxitem.h"
#include <memory>
#include <new>
#include <string>

namespace {
// Frames split over several fragments with an empty Basic Offset Table: DCMTK cannot find
// where frame n > 0 starts when it decodes one frame at a time. Rebuild the table in memory
// (never written back) from the fragments that begin with a JPEG/JPEG-LS SOI marker (FFD8).
void fillOffsetTableIfNeeded(wc_image *image) {
    if (image->offsetTableChecked) return;
    image->offsetTableChecked = true;
    DcmDataset *dataset = image->file.getDataset();
    const E_TransferSyntax xfer = dataset->getOriginalXfer();
    if (!DcmXfer(xfer).isEncapsulated()) return;
    DcmElement *el = nullptr;
    if (dataset->findAndGetElement(DCM_PixelData, el).bad() || el == nullptr) return;
    DcmPixelSequence *seq = nullptr;
    if (static_cast<DcmPixelData *>(el)->getEncapsulatedRepresentation(xfer, nullptr, seq).bad() || seq == nullptr) return;
    Sint32 frames = 1;
    if (dataset->findAndGetSint32(DCM_NumberOfFrames, frames).bad() || frames < 1) frames = 1;
    const unsigned long fragments = seq->card();
    DcmPixelItem *table = nullptr;
    if (fragments <= unsigned(frames) + 1 || seq->getItem(table, 0).bad() || table->getLength() != 0) return;
    DcmOffsetList sizes;
    Uint32 current = 0;
    bool started = false;
    for (unsigned long i = 1; i < fragments; ++i) {
        DcmPixelItem *item = nullptr;
        if (seq->getItem(item, i).bad() || item == nullptr) return;
        Uint8 head[2] = {0, 0};
        if (item->getLength() >= 2 && item->getPartialValue(head, 0, 2).bad()) return;
        if (head[0] == 0xFF && head[1] == 0xD8) {
            if (started) sizes.push_back(current);
            current = 0;
            started = true;
        }
        current += 8 + item->getLength();
    }
    if (started) sizes.push_back(current);
    if (sizes.size() == size_t(frames)) table->createOffsetTable(sizes);
}
}  // namespace

extern "C" wc_image_status wc_image_decode_frame(wc_image *image, uint32_t frame, wc_voi_mode voi, uint32_t voi_index,
                                                 uint8_t *out, size_t out_len,
                                                 uint32_t *width, uint32_t *height, uint32_t *samples,
                                                 char *message, size_t message_len) {
    std::lock_guard<std::mutex> guard(image->lock);
    DcmDataset *dataset = image->file.getDataset();
    fillOffsetTableIfNeeded(image);
    // Partial access decodes just this frame (getUncompressedFrame for encapsulated data, a
    // partial read for native data), so a 120-frame cine is never decoded at once.
    unsigned long flags = CIF_UsePartialAccessToPixelData;
    if (voi == WC_VOI_NONE) flags |= CIF_UseAbsolutePixelRange;
    std::unique_ptr<DicomImage> di(new (std::nothrow) DicomImage(dataset, dataset->getOriginalXfer(), flags, frame, 1));
    if (!di) {
        wc_image_copy_message(message, message_len, "out of memory");
        return WC_IMAGE_DECODE;
    }
    if (di->getStatus() != EIS_Normal) {
        wc_image_copy_message(message, message_len, DicomImage::getString(di->getStatus()));
        return WC_IMAGE_DECODE;
    }
    if (di->getFrameCount() < 1) {
        wc_image_copy_message(message, message_len, "frame index beyond Number of Frames");
        return WC_IMAGE_ARGUMENT;
    }
    if (di->isMonochrome()) {
        // Stored polarity: MONOCHROME1 is inverted in Swift (DCMTK's own inversion is off by one).
        di->setPresentationLutShape(ESP_Identity);
        int ok = 1;
        switch (voi) {
        case WC_VOI_WINDOW: ok = di->setWindow(voi_index); break;
        case WC_VOI_LUT: ok = di->setVoiLut(voi_index); break;
        case WC_VOI_MINMAX: ok = di->setMinMaxWindow(0); break;  // this frame's min..max (only it is loaded)
        case WC_VOI_NONE: ok = di->setNoVoiTransformation(); break;
        }
        if (!ok) {
            wc_image_copy_message(message, message_len, "the VOI window / LUT asked for is not in the dataset");
            return WC_IMAGE_ARGUMENT;
        }
    }
    const unsigned long size = di->getOutputDataSize(8);
    if (size == 0 || size > out_len) {
        wc_image_copy_message(message, message_len, "output buffer too small for the decoded frame");
        return WC_IMAGE_ARGUMENT;
    }
    if (!di->getOutputData(out, size, 8, 0, 0)) {
        std::string m = "DCMTK could not render the frame: ";
        m += DicomImage::getString(di->getStatus());
        wc_image_copy_message(message, message_len, m.c_str());
        return WC_IMAGE_DECODE;
    }
    *width = uint32_t(di->getWidth());
    *height = uint32_t(di->getHeight());
    *samples = di->isMonochrome() ? 1 : 3;
    return WC_IMAGE_OK;
}

extern "C" wc_image_status wc_image_read_native_frame(wc_image *image, uint32_t frame, uint8_t *out, size_t frame_bytes,
                                                     char *message, size_t message_len) {
    std::lock_guard<std::mutex> guard(image->lock);
    DcmDataset *dataset = image->file.getDataset();
    DcmElement *el = nullptr;
    if (dataset->findAndGetElement(DCM_PixelData, el, OFFalse).bad() || el == nullptr) {
        wc_image_copy_message(message, message_len, "no Pixel Data");
        return WC_IMAGE_DECODE;
    }
    if (DcmXfer(dataset->getOriginalXfer()).isEncapsulated()) {
        wc_image_copy_message(message, message_len, "Pixel Data is encapsulated; decode it instead");
        return WC_IMAGE_DECODE;
    }
    const unsigned long long end = (unsigned long long)(frame + 1ULL) * frame_bytes;
    if (end > el->getLengthField() || end > 0xFFFFFFFFULL) {
        std::string m = "Pixel Data holds " + std::to_string(el->getLengthField()) + " bytes; frame " +
                        std::to_string(frame + 1) + " ends at byte " + std::to_string(end);
        wc_image_copy_message(message, message_len, m.c_str());
        return WC_IMAGE_DECODE;
    }
    const OFCondition c = el->getPartialValue(out, Uint32(end - frame_bytes), Uint32(frame_bytes));
    if (c.bad()) {
        std::string m = "cannot read the frame's bytes: ";
        m += c.text();
        wc_image_copy_message(message, message_len, m.c_str());
        return WC_IMAGE_DECODE;
    }
    return WC_IMAGE_OK;
}

extern "C" wc_image_status wc_image_read_frame_samples(wc_image *image, uint32_t frame, uint8_t *out, size_t frame_bytes,
                                                       char *message, size_t message_len) {
    std::lock_guard<std::mutex> guard(image->lock);
    DcmDataset *dataset = image->file.getDataset();
    fillOffsetTableIfNeeded(image);
    DcmElement *el = nullptr;
    if (dataset->findAndGetElement(DCM_PixelData, el, OFFalse).bad() || el == nullptr) {
        wc_image_copy_message(message, message_len, "no Pixel Data");
        return WC_IMAGE_DECODE;
    }
    if (frame_bytes > 0xFFFFFFFFULL) {
        wc_image_copy_message(message, message_len, "frame too large");
        return WC_IMAGE_ARGUMENT;
    }
    // getUncompressedFrame reads just this frame: a partial read of native data (swapped to this
    // machine's byte order), or the frame's fragments through the registered decoder.
    Uint32 startFragment = 0;
    OFString colourModel;
    const OFCondition c = static_cast<DcmPixelData *>(el)->getUncompressedFrame(
        dataset, frame, startFragment, out, Uint32(frame_bytes), colourModel);
    if (c.bad()) {
        std::string m = "cannot read the frame's samples: ";
        m += c.text();
        wc_image_copy_message(message, message_len, m.c_str());
        return WC_IMAGE_DECODE;
    }
    return WC_IMAGE_OK;
}
