"""independent workload: SQLAlchemy's declarative ORM (python3-sqlalchemy) over an in-memory
SQLite database: per round, insert 100 Person rows with an Address each in a session, commit,
query them back (all, filtered, joined), update and delete. Mirrors pyperformance's
`sqlalchemy_declarative`."""
import _common

REQUIRES = ["sqlalchemy.orm"]
ITERATIONS = 50
ROWS = 100


def setup():
    from sqlalchemy import Column, ForeignKey, Integer, String, create_engine
    from sqlalchemy.orm import declarative_base, relationship, sessionmaker

    Base = declarative_base()

    class Person(Base):
        __tablename__ = "person"
        id = Column(Integer, primary_key=True)
        name = Column(String(250), nullable=False)

    class Address(Base):
        __tablename__ = "address"
        id = Column(Integer, primary_key=True)
        street_name = Column(String(250))
        street_number = Column(String(250))
        post_code = Column(String(250), nullable=False)
        person_id = Column(Integer, ForeignKey("person.id"))
        person = relationship(Person)

    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    return sessionmaker(bind=engine), Person, Address


def run(state, scale):
    Session, Person, Address = state
    total = 0
    for _ in range(max(1, int(round(ITERATIONS * scale)))):
        session = Session()
        for i in range(ROWS):
            p = Person(name="name %d" % i)
            session.add(p)
            session.add(Address(street_name="street %d" % i, street_number=str(i), post_code="%05d" % i,
                                person=p))
        session.commit()
        total += len(session.query(Person).all())
        total += len(session.query(Address).filter(Address.post_code < "00050").all())
        total += len(session.query(Person, Address).join(Address.person).all())
        for p in session.query(Person).filter(Person.name.like("name 1%")):
            p.name += " (updated)"
        session.commit()
        session.query(Address).delete()
        session.query(Person).delete()
        session.commit()
        session.close()
    return total


if __name__ == "__main__":
    _common.main(REQUIRES, setup, run)
