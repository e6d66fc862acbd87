// What DCMTK's decoders warned about while decoding on this thread. libjpeg's recoverable
// errors ("Corrupt JPEG data: ... extraneous bytes", "Premature end of JPEG file") reach only
// the dcmjpeg logger and the frame still "decodes": Swift reads them here and decides.
#include "wecare_image.h"
#include "image_internal.h"
#include "dcmtk/oflog/oflog.h"
#include "dcmtk/oflog/logger.h"
#include "dcmtk/oflog/appender.h"
#include "dcmtk/oflog/spi/logevent.h"
#include <mutex>
#include <string>

namespace {
thread_local unsigned long t_count = 0;
thread_local std::string t_first;

class DecodeWarningAppender : public dcmtk::log4cplus::Appender {
public:
    ~DecodeWarningAppender() { destructorImpl(); }
    void close() override {}

protected:
    void append(const dcmtk::log4cplus::spi::InternalLoggingEvent &event) override {
        if (event.getLogLevel() < dcmtk::log4cplus::WARN_LOG_LEVEL) return;
        if (t_count++ == 0) t_first = event.getMessage().c_str();
    }
};

void install() {
    OFLog::getLogger("dcmtk");  // oflog's defaults first, so they do not replace ours later
    for (const char *name : {"dcmtk.dcmjpeg", "dcmtk.dcmjpls", "dcmtk.dcmdata.dcrleccd", "dcmtk.dcmdata.dcrledec"}) {
        dcmtk::log4cplus::Logger logger = dcmtk::log4cplus::Logger::getInstance(name);
        logger.addAppender(dcmtk::log4cplus::SharedAppenderPtr(new DecodeWarningAppender()));
        if (logger.getLogLevel() > dcmtk::log4cplus::WARN_LOG_LEVEL || logger.getLogLevel() == dcmtk::log4cplus::NOT_SET_LOG_LEVEL)
            logger.setLogLevel(dcmtk::log4cplus::WARN_LOG_LEVEL);
    }
}
}  // namespace

extern "C" unsigned long wc_image_take_decode_warnings(char *first, size_t first_len) {
    static std::once_flag once;
    std::call_once(once, install);
    const unsigned long n = t_count;
    wc_image_copy_message(first, first_len, n > 0 ? t_first.c_str() : "");
    t_count = 0;
    t_first.clear();
    return n;
}
