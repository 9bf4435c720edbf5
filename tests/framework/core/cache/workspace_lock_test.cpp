#include "core/cache/workspace.hpp"

#include "framework/core/cache/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

using namespace graft;
using graft::testing::TempDir;

TEST_CASE("WorkspacePaths lays out the workspace", "[cache][workspace]") {
    WorkspacePaths ws{"/p/.graft"};
    CHECK(ws.objects() == fs::path("/p/.graft/objects"));
    CHECK(ws.actions() == fs::path("/p/.graft/actions"));
    CHECK(ws.runs() == fs::path("/p/.graft/runs"));
    CHECK(ws.tmp() == fs::path("/p/.graft/tmp"));
    CHECK(ws.stat_cache() == fs::path("/p/.graft/stat-cache"));
    CHECK(ws.lock() == fs::path("/p/.graft/lock"));
}

TEST_CASE("WorkspaceLock records its holder and frees on destruction", "[cache][workspace]") {
    TempDir tmp;
    fs::path lock = tmp / ".graft/lock";
    CHECK_FALSE(WorkspaceLock::holder(lock).has_value());  // no file yet
    {
        WorkspaceLock l(lock, WorkspaceLock::Mode::Fail, "graft run p.toml");
        auto h = WorkspaceLock::holder(lock);
        REQUIRE(h.has_value());
        CHECK(*h == "pid " + std::to_string(::getpid()) + ": graft run p.toml");
        // A second holder in the same process is refused too (flock is per open file).
        CHECK_THROWS_WITH(WorkspaceLock(lock, WorkspaceLock::Mode::Fail, "graft gc"),
                          Catch::Contains("is locked by pid " + std::to_string(::getpid())));
    }
    CHECK_FALSE(WorkspaceLock::holder(lock).has_value());
    CHECK_NOTHROW(WorkspaceLock(lock, WorkspaceLock::Mode::Fail, "graft gc"));
}

TEST_CASE("a lock held by a killed process is released by the kernel", "[cache][workspace]") {
    TempDir tmp;
    fs::path lock = tmp / "lock";
    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // Child: take the lock, tell the parent, then wait to be killed. Never return into Catch.
        ::close(ready[0]);
        try {
            WorkspaceLock l(lock, WorkspaceLock::Mode::Fail, "graft run p.toml");
            char c = 'x';
            if (::write(ready[1], &c, 1) != 1) ::_exit(2);
            for (;;) ::pause();
        } catch (...) {
            ::_exit(1);
        }
    }
    ::close(ready[1]);
    char c = 0;
    REQUIRE(::read(ready[0], &c, 1) == 1);
    ::close(ready[0]);

    std::string expected = "workspace " + tmp.path().string() + " is locked by pid " +
                           std::to_string(child) +
                           ": graft run p.toml; wait for it to finish, or pass --wait";
    CHECK_THROWS_WITH(WorkspaceLock(lock, WorkspaceLock::Mode::Fail, "graft run q.toml"), expected);
    CHECK(WorkspaceLock::holder(lock) ==
          std::optional<std::string>("pid " + std::to_string(child) + ": graft run p.toml"));

    ::kill(child, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFSIGNALED(status));

    CHECK_FALSE(WorkspaceLock::holder(lock).has_value());
    WorkspaceLock mine(lock, WorkspaceLock::Mode::Fail, "graft run q.toml");
    CHECK(WorkspaceLock::holder(lock) ==
          std::optional<std::string>("pid " + std::to_string(::getpid()) + ": graft run q.toml"));
}

TEST_CASE("Mode::Wait blocks until the holder releases", "[cache][workspace]") {
    TempDir tmp;
    fs::path lock = tmp / "lock";
    auto first = std::make_unique<WorkspaceLock>(lock, WorkspaceLock::Mode::Fail, "first");
    std::thread releaser([&first] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        first.reset();
    });
    WorkspaceLock second(lock, WorkspaceLock::Mode::Wait, "second");
    releaser.join();
    CHECK(first == nullptr);
    CHECK(WorkspaceLock::holder(lock)->ends_with(": second"));
}
